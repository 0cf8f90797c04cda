/**
 * Multinomial logistic regression as a TrainableModel: the DP baseline of issue #4 and the engine's
 * reference model in tests. Its per-example gradients have closed forms, so clipping is exact
 * book-keeping with no per-example copies:
 *   logits = xW + b,  G = softmax(logits) − onehot(y)          (dℓᵢ/dlogitsᵢ, one row per example)
 *   ∇W ℓᵢ = xᵢ ⊗ gᵢ, ∇b ℓᵢ = gᵢ  ⇒  ‖∇ℓᵢ‖² = (‖xᵢ‖² + 1)·‖gᵢ‖²
 *   Σᵢ cᵢ∇W ℓᵢ = Xᵀ·(c ⊙ G),     Σᵢ cᵢ∇b ℓᵢ = Σᵢ cᵢgᵢ,   cᵢ = min(1, C/‖∇ℓᵢ‖)
 */
import * as tf from "@tensorflow/tfjs";
import type { ClippedBatch, PlainBatch, TrainableModel } from "../model.js";
import type { Params } from "../optimizers.js";

export class LogisticRegression implements TrainableModel {
  readonly params: Params;
  readonly dim: number;
  readonly numExamples: number;

  constructor(
    /** Row-major features [N, dim]. */
    private readonly features: Float32Array,
    private readonly labels: Int32Array,
    readonly numClasses: number,
  ) {
    if (features.length % labels.length !== 0)
      throw new RangeError("features length is not a multiple of the label count");
    this.dim = features.length / labels.length;
    this.numExamples = labels.length;
    this.params = new Map([
      ["weight", tf.variable(tf.zeros([this.dim, numClasses]), true, undefined)],
      ["bias", tf.variable(tf.zeros([numClasses]), true, undefined)],
    ]);
  }

  private rows(indices: Int32Array): { x: tf.Tensor2D; y: tf.Tensor2D } {
    const d = this.dim;
    const buf = new Float32Array(indices.length * d);
    const ys = new Int32Array(indices.length);
    indices.forEach((idx, r) => {
      buf.set(this.features.subarray(idx * d, idx * d + d), r * d);
      ys[r] = this.labels[idx]!;
    });
    return {
      x: tf.tensor2d(buf, [indices.length, d]),
      y: tf.oneHot(tf.tensor1d(ys, "int32"), this.numClasses).toFloat() as tf.Tensor2D,
    };
  }

  /** dℓ/dlogits for every row, plus the summed cross-entropy. */
  private forward(x: tf.Tensor2D, y: tf.Tensor2D): { g: tf.Tensor2D; lossSum: tf.Scalar } {
    const logits = tf.add(tf.matMul(x, this.params.get("weight")!), this.params.get("bias")!);
    const logp = tf.logSoftmax(logits);
    return {
      g: tf.sub(tf.exp(logp), y) as tf.Tensor2D,
      lossSum: tf.neg(tf.sum(tf.mul(y, logp))) as tf.Scalar,
    };
  }

  clippedGradients(indices: Int32Array, clipNorm: number): ClippedBatch {
    if (indices.length === 0) return { clippedSum: new Map(), norms: new Float32Array(0), lossSum: 0 };
    const [gw, gb, norms, loss] = tf.tidy(() => {
      const { x, y } = this.rows(indices);
      const { g, lossSum } = this.forward(x, y);
      const sq = tf.mul(tf.add(tf.sum(tf.square(x), 1), 1), tf.sum(tf.square(g), 1));
      const norm = tf.sqrt(sq);
      const c = tf.minimum(1, tf.div(clipNorm, tf.maximum(norm, 1e-12)));
      const cg = tf.mul(g, tf.expandDims(c, 1));
      return [tf.matMul(tf.transpose(x), cg), tf.sum(cg, 0), norm, lossSum] as const;
    });
    const out = {
      clippedSum: new Map([
        ["weight", gw as tf.Tensor],
        ["bias", gb as tf.Tensor],
      ]),
      norms: norms.dataSync() as Float32Array,
      lossSum: loss.dataSync()[0]!,
    };
    norms.dispose();
    loss.dispose();
    return out;
  }

  gradients(indices: Int32Array): PlainBatch {
    if (indices.length === 0) return { sum: new Map(), lossSum: 0 };
    const [gw, gb, loss] = tf.tidy(() => {
      const { x, y } = this.rows(indices);
      const { g, lossSum } = this.forward(x, y);
      return [tf.matMul(tf.transpose(x), g), tf.sum(g, 0), lossSum] as const;
    });
    const lossSum = loss.dataSync()[0]!;
    loss.dispose();
    return {
      sum: new Map([
        ["weight", gw as tf.Tensor],
        ["bias", gb as tf.Tensor],
      ]),
      lossSum,
    };
  }

  /** Predicted class per row of `features` (a different set, e.g. the test split). */
  predict(features: Float32Array): Int32Array {
    const n = features.length / this.dim;
    const out = new Int32Array(n);
    const chunk = 512;
    for (let s = 0; s < n; s += chunk) {
      const e = Math.min(n, s + chunk);
      const pred = tf.tidy(() => {
        const x = tf.tensor2d(features.subarray(s * this.dim, e * this.dim), [e - s, this.dim]);
        return tf.argMax(tf.add(tf.matMul(x, this.params.get("weight")!), this.params.get("bias")!), 1);
      });
      out.set(pred.dataSync() as Int32Array, s);
      pred.dispose();
    }
    return out;
  }

  dispose(): void {
    for (const p of this.params.values()) p.dispose();
  }
}
