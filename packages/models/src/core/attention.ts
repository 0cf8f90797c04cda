/** Scaled dot-product multi-head attention and its additive masks, shared by every backbone. */
import * as tf from "@tensorflow/tfjs";

/**
 * Additive attention bias: 0 where query t may see key s, else -1e9 (exp underflows to exactly 0).
 * Keys must be real tokens (mask = 1); `causal` also hides later keys (s > t). Causal: [B,1,T,T];
 * bidirectional: [B,1,1,T], broadcast over queries (T× smaller).
 */
export function attentionBias(mask: tf.Tensor2D, causal: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, t] = mask.shape;
    const keys = tf.reshape(mask, [b, 1, 1, t]);
    const allowed = causal ? tf.mul(tf.linalg.bandPart(tf.ones([t, t]), -1, 0), keys) : keys;
    return tf.mul(tf.sub(1, allowed), -1e9) as tf.Tensor4D;
  });
}

/** softmax(q·kᵀ/√d_head + bias)·v over heads: fused on wasm/cpu, composite elsewhere (@memarc/tensor). */
export { multiHeadAttention } from "@memarc/tensor";
