/**
 * MemArc's own WebAssembly module (packages/tensor/kernels, SIMD128): instantiation, the layout of
 * one call's operands in its memory, and counters for profiles. Used by small-gemm.ts (batched small
 * products), fused-kernels.ts (layer normalisation, GELU, attention) and half.ts (F16 → float32).
 *
 * Each call lays its operands out above the kept region, copies them in, runs, and hands its results
 * back as views that the next call overwrites. The kept region below them holds per-example products
 * that a norm pass keeps for the weighted sum after it (`keep`/`unkeep`, within a byte budget).
 * The module is pure computation on its own memory: the same bytes run under Node and in a
 * browser's Web Worker.
 */
import { KERNELS_WASM_BASE64 } from "./kernels/kernels-wasm.js";

export type KernelFn = (...args: number[]) => void;

// The WebAssembly global is in every runtime this runs in (Node, browsers, Web Workers); its types
// live in lib.dom, which this package does not compile against — so the little used is declared.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

export interface KernelExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  __heap_base: { value: number };
  bmm: KernelFn;
  sqnorms: KernelFn;
  wsum: KernelFn;
  psum: KernelFn;
  gelu_fwd: KernelFn;
  gelu_bwd: KernelFn;
  ln_fwd: KernelFn;
  ln_bwd: KernelFn;
  attn_fwd: KernelFn;
  attn_bwd: KernelFn;
  f16_to_f32: KernelFn;
}

let module: KernelExports | null = null;
let peakBytes = 0;

/** Bytes above the heap base held by kept regions, how many are alive, and the most they may hold. */
let keptBytes = 0;
let keptAlive = 0;
let keptBudget = 64 * 1024 * 1024;

/** What the profiles list: one row per group of entry points. */
export type KernelGroup = "small-gemm" | "fused" | "f16";
export interface KernelCounter {
  calls: number;
  /** Matrix-product FLOPs (2 per multiply-add) formed by the calls. */
  flops: number;
  ms: number;
}
const counters: Record<KernelGroup, KernelCounter> = {
  "small-gemm": { calls: 0, flops: 0, ms: 0 },
  fused: { calls: 0, flops: 0, ms: 0 },
  f16: { calls: 0, flops: 0, ms: 0 },
};

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The instantiated module (compiled on first use: ~30 KB, synchronous; training runs off the UI thread). */
export function kernels(): KernelExports {
  module ??= new WebAssembly.Instance(new WebAssembly.Module(decodeBase64(KERNELS_WASM_BASE64)), {})
    .exports as KernelExports;
  return module;
}

/**
 * Byte offsets of consecutive regions of `floats[i]` float32s (16-byte aligned) from the heap base,
 * the memory grown to hold them all. Reserve everything a call needs before writing any of it: a
 * growth detaches earlier views of the memory.
 */
const align = (v: number) => (v + 15) & ~15;

export function reserve(floats: number[]): number[] {
  const ex = kernels();
  let at = align(ex.__heap_base.value) + keptBytes;
  const offsets = floats.map((n) => {
    const off = at;
    at = align(at + n * 4);
    return off;
  });
  const grow = at - ex.memory.buffer.byteLength;
  if (grow > 0) ex.memory.grow(Math.ceil(grow / 65536));
  peakBytes = Math.max(peakBytes, at);
  return offsets;
}

/**
 * A region of `floats` float32s that later calls leave alone until `unkeep` — or null when it would
 * take the kept regions past the budget (the caller then recomputes instead). Regions are stacked:
 * their memory returns when every kept region has been released.
 */
export function keep(floats: number): number | null {
  const bytes = align(floats * 4);
  if (keptBytes + bytes > keptBudget) return null;
  const at = align(kernels().__heap_base.value) + keptBytes;
  keptBytes += bytes;
  keptAlive++;
  reserve([]);
  return at;
}

/** Releases one region from `keep`. */
export function unkeep(): void {
  if (keptAlive === 0) throw new Error("wasm kernels: unkeep without a kept region");
  if (--keptAlive === 0) keptBytes = 0;
}

/**
 * Sets the most bytes kept regions may hold together (default 64 MiB: per-example products of the
 * side network at the encoder's size for a micro-batch of 32 are ~40 MB); returns the previous value.
 * 0 turns keeping off.
 */
export function setKeepBudget(bytes: number): number {
  if (!(bytes >= 0)) throw new RangeError(`keep budget must be ≥ 0 bytes, got ${bytes}`);
  const prev = keptBudget;
  keptBudget = bytes;
  return prev;
}

/** Copies F16 bits into the module's memory at byte offset `at`. */
export function writeHalves(at: number, data: Uint16Array): void {
  new Uint16Array(kernels().memory.buffer, at, data.length).set(data);
}

/** A view of `floats` float32s at byte offset `at` (valid until the next call reuses the memory). */
export function view(at: number, floats: number): Float32Array {
  return new Float32Array(kernels().memory.buffer, at, floats);
}

/** Copies `data` into the module's memory at byte offset `at`. */
export function write(at: number, data: Float32Array): void {
  view(at, data.length).set(data);
}

/** Runs one kernel call and counts it under `group` with the matrix-product FLOPs it forms. */
export function timed(group: KernelGroup, flops: number, call: () => void): void {
  const t0 = performance.now();
  call();
  const c = counters[group];
  c.ms += performance.now() - t0;
  c.calls++;
  c.flops += flops;
}

/**
 * The largest memory the module has used for one call, in bytes (operand copies, scratch, outputs):
 * memory outside the tfjs engine that a DP step's peak must include. `reset` starts a new count.
 */
export function kernelPeakBytes(reset = false): number {
  const v = peakBytes;
  if (reset) peakBytes = 0;
  return v;
}

/** Calls, matrix-product FLOPs and milliseconds of the module so far in this thread, per group. */
export function kernelCounters(): Record<KernelGroup, KernelCounter> {
  return {
    "small-gemm": { ...counters["small-gemm"] },
    fused: { ...counters.fused },
    f16: { ...counters.f16 },
  };
}
