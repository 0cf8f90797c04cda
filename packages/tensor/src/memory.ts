/**
 * Memory meter: the peak engine bytes of a step above its starting point, plus a leak check.
 *
 * `tf.profile` reports `peakBytes` as an absolute engine figure, so the starting `numBytes` is
 * subtracted. Engine bytes (exact on wasm) are used rather than RSS because the wasm heap only grows.
 * Memory MemArc's own kernels (wasm-kernels.ts) use outside the engine is added: their largest
 * call's bytes count as if they coexisted with the engine's peak (an upper bound).
 */
import * as tf from "@tensorflow/tfjs";
import { kernelPeakBytes } from "./wasm-kernels.js";

export interface PeakReport {
  /** Peak engine bytes during `fn`, above the bytes allocated when it started, plus `kernelBytes`. */
  peakBytes: number;
  /** MemArc's kernels' largest call during `fn` (their memory, outside the engine). */
  kernelBytes: number;
  /** Engine bytes still allocated after `fn` returned (above the start), including its result. */
  retainedBytes: number;
  /** Tensors alive after minus before (a leak if `fn` returns nothing it means to keep). */
  leakedTensors: number;
  wallMs: number;
}

export async function measurePeak<R>(fn: () => R | Promise<R>): Promise<PeakReport & { result: R }> {
  const start = tf.memory();
  kernelPeakBytes(true);
  const t0 = performance.now();
  let result: R | undefined;
  const info = await tf.profile(async () => {
    result = await fn();
    return [] as tf.Tensor[];
  });
  const wallMs = performance.now() - t0;
  const end = tf.memory();
  const kernelBytes = kernelPeakBytes();
  return {
    peakBytes: Math.max(0, info.peakBytes - start.numBytes) + kernelBytes,
    kernelBytes,
    retainedBytes: end.numBytes - start.numBytes,
    leakedTensors: end.numTensors - start.numTensors,
    wallMs,
    result: result as R,
  };
}
