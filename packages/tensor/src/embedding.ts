/**
 * Embedding lookup whose gradient works on wasm.
 *
 * tfjs's `gather` gradient needs the `UnsortedSegmentSum` kernel, which wasm lacks. The gradient of
 * a lookup is a scatter-add of the output gradient rows into the table's rows; `scatterND` sums
 * duplicate indices and exists on every backend, and avoids the [N,V] one-hot a matMul would need.
 */
import * as tf from "@tensorflow/tfjs";
import { customGrad } from "./custom.js";

/** Scatter-add rows: out[v] = Σ_{n: ids[n]=v} rows[n]. ids: int32 [N]; rows: [N,D]. */
export function scatterAddRows(ids: tf.Tensor1D, rows: tf.Tensor2D, numRows: number): tf.Tensor2D {
  return tf.tidy(() => {
    const idx = tf.reshape(ids, [-1, 1]) as tf.Tensor2D;
    return tf.scatterND(idx, rows, [numRows, rows.shape[1]]) as tf.Tensor2D;
  });
}

/** table[V,D] looked up at ids (int32, any shape S) → [...S, D]; differentiable w.r.t. table. */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const [v, d] = table.shape;
  const flat = tf.reshape(ids, [-1]) as tf.Tensor1D;
  const f = customGrad((tbl: tf.Tensor, _save: tf.GradSaveFunc) => ({
    value: tf.reshape(tf.gather(tbl, flat), [...ids.shape, d]),
    gradFunc: (dy: tf.Tensor) => scatterAddRows(flat, tf.reshape(dy, [-1, d]) as tf.Tensor2D, v),
  }));
  const out = f(table);
  flat.dispose();
  return out;
}
