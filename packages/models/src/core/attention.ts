/** Scaled dot-product multi-head attention and its additive masks, shared by every backbone. */
import { bmm } from "@memarc/tensor";
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

function splitHeads(x: tf.Tensor3D, h: number): tf.Tensor4D {
  const [b, t, d] = x.shape;
  return tf.transpose(tf.reshape(x, [b, t, h, d / h]), [0, 2, 1, 3]);
}

/** softmax(q·kᵀ/√d_head + bias)·v over `nHead` heads; q, k, v [B,T,inner] → [B,T,inner]. */
export function multiHeadAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  nHead: number,
  bias: tf.Tensor4D,
): tf.Tensor3D {
  const [b, t, inner] = q.shape;
  const hd = inner / nHead;
  const scores = tf.add(
    tf.mul(bmm(splitHeads(q, nHead), splitHeads(k, nHead), { transposeB: true }), 1 / Math.sqrt(hd)),
    bias,
  );
  const ctx = bmm(tf.softmax(scores), splitHeads(v, nHead));
  return tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [b, t, inner]) as tf.Tensor3D;
}
