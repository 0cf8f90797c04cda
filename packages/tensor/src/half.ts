/**
 * F16 → float32 in MemArc's WebAssembly module (kernels/half.c): exact, eight values per step. The
 * side network's cached features are F16 and are widened for every micro-batch.
 */
import type * as tf from "@tensorflow/tfjs";
import { tensorFrom } from "./kernel-io.js";
import { kernels, reserve, timed, view, writeHalves } from "./wasm-kernels.js";

/**
 * The float32 values of F16 bits `parts` laid end to end, handed to `consume` as a view of the
 * module's memory (valid only during the call).
 */
export function widenHalves<R>(parts: Uint16Array[], consume: (floats: Float32Array) => R): R {
  const n = parts.reduce((s, p) => s + p.length, 0);
  // The F16 region is reserved as n/2 float32s (rounded up) — two halves per float.
  const [src, dst] = reserve([Math.ceil(n / 2), n]) as [number, number];
  let at = src;
  for (const p of parts) {
    writeHalves(at, p);
    at += p.length * 2;
  }
  timed("f16", 0, () => kernels().f16_to_f32(n, src, dst));
  return consume(view(dst, n));
}

/** A float32 tensor of `shape` from F16 bits `parts` laid end to end (one copy into the engine). */
export function halvesToTensor<T extends tf.Tensor>(parts: Uint16Array[], shape: number[]): T {
  return widenHalves(parts, (v) => tensorFrom<T>(v, shape));
}
