/**
 * Batched small matrix products in our own WebAssembly module (kernels/small-gemm.c, SIMD128).
 *
 * Why: the DP step at the encoder's size forms tens of thousands of small per-example products
 * (T 64, widths 24–384). Issued one by one through tfjs-wasm each pays tensor creation, a copy out
 * of the heap and XNNPACK's operator setup — ~0.1 ms of overhead on a product that needs 0.01–0.2 ms
 * of arithmetic. Here a whole batch is one call at 20–30 GFLOP/s on one thread (the 512³ matMul
 * ceiling of the same engine), per-example squared norms are summed in registers without writing the
 * products, and a weighted sum over examples accumulates into one output (docs/performance.md).
 *
 * Operands are plain Float32Arrays, copied into the module's memory for the call; nothing stays
 * there between calls. The module is pure computation on its own memory: the same bytes run under
 * Node and in a browser's Web Worker.
 */
import { SMALL_GEMM_WASM_BASE64 } from "./kernels/small-gemm-wasm.js";

type KernelFn = (...args: number[]) => void;

// The WebAssembly global is in every runtime this runs in (Node, browsers, Web Workers); its types
// live in lib.dom, which this package does not compile against — so the little used is declared.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

interface Exports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  __heap_base: { value: number };
  bmm: KernelFn;
  sqnorms: KernelFn;
  wsum: KernelFn;
}

let module: Exports | null = null;
let peakBytes = 0;
const counters = { calls: 0, flops: 0, ms: 0 };

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The instantiated module (compiled on first use: ~10 KB, synchronous; training runs off the UI thread). */
function kernels(): Exports {
  module ??= new WebAssembly.Instance(new WebAssembly.Module(decodeBase64(SMALL_GEMM_WASM_BASE64)), {})
    .exports as Exports;
  return module;
}

/**
 * A batch of n products C_b = op(A_b) · op(B_b), op(A_b) [m×k], op(B_b) [k×p]. `a` holds n matrices
 * stored [m,k] row-major, or [k,m] when `transposeA` (A_b is then the stored matrix's transpose);
 * `b` likewise [k,p], or [p,k] when `transposeB`.
 */
export interface SmallBatch {
  n: number;
  m: number;
  k: number;
  p: number;
  a: Float32Array;
  b: Float32Array;
  transposeA?: boolean;
  transposeB?: boolean;
}

function check(x: SmallBatch): void {
  const { n, m, k, p } = x;
  for (const [name, v] of Object.entries({ n, m, k, p }))
    if (!Number.isInteger(v) || v < 0)
      throw new Error(`small-gemm: ${name} must be a non-negative integer, got ${v}`);
  if (x.a.length !== n * m * k)
    throw new Error(`small-gemm: a has ${x.a.length} numbers, expected ${n}·${m}·${k}`);
  if (x.b.length !== n * k * p)
    throw new Error(`small-gemm: b has ${x.b.length} numbers, expected ${n}·${k}·${p}`);
}

/**
 * Lay the operands out in the module's memory (growing it when needed) and return the kernel's
 * common arguments: n, M, N, K, A, sab, sam, sak, B, sbb, ldb, tb, scratch — then the output offset.
 */
function place(
  x: SmallBatch,
  outFloats: number,
  extraFloats = 0,
): { args: number[]; out: number; extra: number } {
  check(x);
  const ex = kernels();
  const { n, m, k, p } = x;
  const align = (v: number) => (v + 15) & ~15;
  let at = align(ex.__heap_base.value);
  const take = (floats: number) => {
    const off = at;
    at = align(at + floats * 4);
    return off;
  };
  const a = take(x.a.length);
  const b = take(x.b.length);
  const scratch = take(k * p);
  const extra = take(extraFloats);
  const out = take(outFloats);
  const grow = at - ex.memory.buffer.byteLength;
  if (grow > 0) ex.memory.grow(Math.ceil(grow / 65536));
  peakBytes = Math.max(peakBytes, at);
  const f32 = new Float32Array(ex.memory.buffer);
  f32.set(x.a, a / 4);
  f32.set(x.b, b / 4);
  // A_b(i,j) at a + b·sab + i·sam + j·sak (strides in floats; offsets in bytes).
  const [sam, sak] = x.transposeA ? [1, m] : [k, 1];
  const ldb = x.transposeB ? k : p;
  return {
    args: [n, m, p, k, a, m * k, sam, sak, b, k * p, ldb, x.transposeB ? 1 : 0, scratch],
    out,
    extra,
  };
}

/** Run one kernel call, counting it (`smallGemmCounters`): 2·m·k·p FLOPs per product formed. */
function timed(products: number, x: SmallBatch, call: () => void): void {
  const t0 = performance.now();
  call();
  counters.ms += performance.now() - t0;
  counters.calls++;
  counters.flops += 2 * products * x.m * x.k * x.p;
}

/**
 * Hands the result to `consume` as a view of the module's memory — valid only during the call, since
 * the next kernel call reuses that memory — and returns what it returns (default: a copy).
 */
export type Consume<R> = (view: Float32Array) => R;
const copy: Consume<Float32Array> = (v) => v.slice();

function read<R>(out: number, floats: number, consume: Consume<R>): R {
  return consume(new Float32Array(kernels().memory.buffer, out, floats));
}

/** C_b = op(A_b)·op(B_b) for every b, as [n, m, p] row-major. */
export function smallBatchMatMul(x: SmallBatch): Float32Array;
export function smallBatchMatMul<R>(x: SmallBatch, consume: Consume<R>): R;
export function smallBatchMatMul<R>(x: SmallBatch, consume?: Consume<R>): R | Float32Array {
  const { args, out } = place(x, x.n * x.m * x.p);
  timed(x.n, x, () => kernels().bmm(...args, out));
  return read<R | Float32Array>(out, x.n * x.m * x.p, consume ?? copy);
}

/** ‖op(A_b)·op(B_b)‖²_F for every b (the products are never written). */
export function smallSqNorms(x: SmallBatch): Float32Array {
  const { args, out } = place(x, x.n);
  timed(x.n, x, () => kernels().sqnorms(...args, out));
  return read(out, x.n, copy);
}

/** Σ_b w_b op(A_b)·op(B_b) as [m, p] row-major (w null: every weight 1; a weight 0 skips its b). */
export function smallWeightedSum(x: SmallBatch, w: Float32Array | null): Float32Array;
export function smallWeightedSum<R>(x: SmallBatch, w: Float32Array | null, consume: Consume<R>): R;
export function smallWeightedSum<R>(
  x: SmallBatch,
  w: Float32Array | null,
  consume?: Consume<R>,
): R | Float32Array {
  if (w && w.length !== x.n) throw new Error(`small-gemm: ${w.length} weights for ${x.n} products`);
  const { args, out, extra } = place(x, x.m * x.p, w ? x.n : 0);
  if (w) new Float32Array(kernels().memory.buffer).set(w, extra / 4);
  const formed = w ? w.reduce((c, v) => c + (v === 0 ? 0 : 1), 0) : x.n;
  timed(formed, x, () => kernels().wsum(...args, w ? extra : 0, out));
  return read<R | Float32Array>(out, x.m * x.p, consume ?? copy);
}
/**
 * The largest memory the module has used for one call, in bytes (operand copies, scratch, output):
 * memory outside the tfjs engine that a DP step's peak must include. `reset` starts a new count.
 */
export function smallGemmPeakBytes(reset = false): number {
  const v = peakBytes;
  if (reset) peakBytes = 0;
  return v;
}

/** Calls, matrix-product FLOPs and milliseconds of the kernel so far in this thread (for profiles). */
export function smallGemmCounters(): { calls: number; flops: number; ms: number } {
  return { ...counters };
}
