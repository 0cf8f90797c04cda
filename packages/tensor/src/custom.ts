import * as tf from "@tensorflow/tfjs";

type GradFn = Parameters<typeof tf.customGrad>[0];

/** `tf.customGrad` with positional tensor arguments typed as tensors (tfjs types them as a union). */
// biome-ignore lint/suspicious/noExplicitAny: tfjs passes tensors then the save function positionally.
export function customGrad(f: (...args: any[]) => ReturnType<GradFn>): (...xs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(f as unknown as GradFn) as (...xs: tf.Tensor[]) => tf.Tensor;
}
