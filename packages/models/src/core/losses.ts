/** Pooling, the classification head and the per-example losses shared by all schemes. */
import * as tf from "@tensorflow/tfjs";
import type { Tracer } from "./tracer.js";

/** Mean of h over the real (mask = 1) tokens: [B,T,D] → [B,D]. */
export function meanPool(h: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  const m = tf.expandDims(mask, 2);
  return tf.div(tf.sum(tf.mul(h, m), 1), tf.maximum(tf.sum(m, 1), 1)) as tf.Tensor2D;
}

/** Per-example cross-entropy of the classification head `cls.weight`/`cls.bias` on pooled states. */
export function classifyLoss(
  tr: Tracer,
  h: tf.Tensor3D,
  mask: tf.Tensor2D,
  labels: tf.Tensor1D,
): tf.Tensor1D {
  return crossEntropy(classifyLogits(tr, h, mask), labels);
}

/**
 * Per-example cross-entropy of logits [B,C] against integer labels [B]: the classification loss
 * itself, so an evaluation that already has the logits gets the same losses without a second forward.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  const oh = tf.oneHot(tf.cast(labels, "int32"), logits.shape[1]);
  return tf.neg(tf.sum(tf.mul(oh, tf.logSoftmax(logits)), 1)) as tf.Tensor1D;
}

/** Classification logits [B,C] (inference). */
export function classifyLogits(tr: Tracer, h: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  const pooled = tf.expandDims(meanPool(h, mask), 1) as tf.Tensor3D; // [B,1,D]: a "sequence" of one
  return tf.squeeze(tr.linear(pooled, "cls.weight", "cls.bias"), [1]) as tf.Tensor2D;
}

/**
 * Per-example next-token loss: mean over real target positions of −log p(ids[t+1] | ≤ t), through
 * the tied head `table`.
 */
export function lmLoss(
  tr: Tracer,
  h: tf.Tensor3D,
  ids: tf.Tensor2D,
  mask: tf.Tensor2D,
  table: string,
): tf.Tensor1D {
  const [b, t] = ids.shape;
  const logits = tr.tiedHead(h, table); // [B,T,V]
  const v = logits.shape[2];
  const pred = tf.slice(logits, [0, 0, 0], [b, t - 1, v]);
  const target = tf.slice(ids, [0, 1], [b, t - 1]);
  const w = tf.mul(tf.slice(mask, [0, 1], [b, t - 1]), tf.slice(mask, [0, 0], [b, t - 1]));
  const nll = tf.neg(tf.sum(tf.mul(tf.oneHot(tf.cast(target, "int32"), v), tf.logSoftmax(pred)), 2));
  return tf.div(tf.sum(tf.mul(nll, w), 1), tf.maximum(tf.sum(w, 1), 1)) as tf.Tensor1D;
}
