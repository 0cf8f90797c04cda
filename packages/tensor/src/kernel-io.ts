/**
 * Moving tensors in and out of MemArc's WebAssembly kernels, and when to use them at all.
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Backends on which MemArc's kernels (small-gemm.ts, fused-kernels.ts) beat tfjs's own: tfjs-wasm
 * issues one XNNPACK call per example of a batched product and pays ~0.1 ms of engine overhead on
 * every kernel of a composite (layer norm, GELU, attention); the cpu backend is plain JS. Native
 * backends (tfjs-node, WebGPU) keep their own kernels.
 */
export function kernelWins(): boolean {
  const name = tf.getBackend();
  return name === "wasm" || name === "cpu";
}

/**
 * A float32 tensor's values without a copy where the backend allows it: on wasm a view of the
 * engine's heap (valid until the engine next allocates — the kernel copies it at once), else dataSync.
 */
export function valuesOf(t: tf.Tensor): Float32Array {
  const be = tf.backend() as unknown as { typedArrayFromHeap?: (t: tf.Tensor) => Float32Array };
  if (tf.getBackend() === "wasm" && t.dtype === "float32" && typeof be.typedArrayFromHeap === "function")
    return be.typedArrayFromHeap(t);
  return t.dataSync() as Float32Array;
}

/**
 * A tensor from a view of the kernel's memory: wasm's engine copies the values into its heap; the
 * cpu engine keeps the array it is given, so it gets a copy.
 */
export function tensorFrom<T extends tf.Tensor>(view: Float32Array, shape: number[]): T {
  return tf.tensor(tf.getBackend() === "wasm" ? view : view.slice(), shape, "float32") as T;
}
