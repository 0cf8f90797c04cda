/**
 * GELU variants with hand-written gradients that save only their input: autodiff of the composite
 * formulas would keep ~7 [B,T,inner] intermediates per MLP on the tape. The exact (erf) form lives in
 * @memarc/tensor next to its fused kernel.
 */
import { customGrad } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";

function withGradient(value: (x: tf.Tensor) => tf.Tensor, slope: (x: tf.Tensor) => tf.Tensor) {
  const f = customGrad((xx: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xx]);
    return {
      value: tf.tidy(() => value(xx)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => tf.mul(dy, slope(saved[0]!))),
    };
  });
  return (x: tf.Tensor): tf.Tensor => f(x);
}

const GELU_C = Math.sqrt(2 / Math.PI);
const tanhArg = (x: tf.Tensor) =>
  tf.tanh(tf.mul(GELU_C, tf.add(x, tf.mul(0.044715, tf.mul(tf.square(x), x)))));

/** GPT-2's "gelu_new": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export const geluTanh = withGradient(
  (x) => tf.mul(tf.mul(0.5, x), tf.add(1, tanhArg(x))),
  (z) => {
    const t = tanhArg(z);
    const du = tf.mul(GELU_C, tf.add(1, tf.mul(3 * 0.044715, tf.square(z))));
    return tf.add(tf.mul(0.5, tf.add(1, t)), tf.mul(tf.mul(0.5, z), tf.mul(tf.sub(1, tf.square(t)), du)));
  },
);

/** BERT's exact "gelu" (x·Φ(x)): one fused kernel per direction on wasm/cpu (@memarc/tensor). */
export { geluErf } from "@memarc/tensor";
