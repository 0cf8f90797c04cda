/**
 * Memory meter: the peak engine bytes of a step above its starting point, plus a leak check.
 *
 * `tf.profile` reports `peakBytes` as an absolute engine figure, so the starting `numBytes` is
 * subtracted. Engine bytes (exact on wasm) are used rather than RSS because the wasm heap only grows.
 */
import * as tf from "@tensorflow/tfjs";

export interface PeakReport {
  /** Peak engine bytes during `fn`, above the bytes allocated when it started. */
  peakBytes: number;
  /** Engine bytes still allocated after `fn` returned (above the start), including its result. */
  retainedBytes: number;
  /** Tensors alive after minus before (a leak if `fn` returns nothing it means to keep). */
  leakedTensors: number;
  wallMs: number;
}

export async function measurePeak<R>(fn: () => R | Promise<R>): Promise<PeakReport & { result: R }> {
  const start = tf.memory();
  const t0 = performance.now();
  let result: R | undefined;
  const info = await tf.profile(async () => {
    result = await fn();
    return [] as tf.Tensor[];
  });
  const wallMs = performance.now() - t0;
  const end = tf.memory();
  return {
    peakBytes: Math.max(0, info.peakBytes - start.numBytes),
    retainedBytes: end.numBytes - start.numBytes,
    leakedTensors: end.numTensors - start.numTensors,
    wallMs,
    result: result as R,
  };
}
