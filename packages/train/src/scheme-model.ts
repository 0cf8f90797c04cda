/**
 * A fine-tuning scheme (full | lora | side | reversible) over a tokenized dataset, as the DP-SGD
 * engine's TrainableModel.
 *
 * For the side scheme the backbone is frozen, so its hidden states are a fixed function of each
 * example: they are computed ONCE per dataset (one inference forward, no tape) and every later step
 * only runs the small side network. This turns the backbone's cost from per-step into per-dataset.
 */
import {
  crossEntropy,
  f32ArrayToF16,
  featuresFromArrays,
  featuresToArrays,
  type Objective,
  type Scheme,
  type SideFeatures,
  SideScheme,
} from "@memarc/models";
import * as tf from "@tensorflow/tfjs";
import type { ClippedBatch, PlainBatch, TrainableModel } from "./model.js";
import type { Grads, Params } from "./optimizers.js";
import { type BatchTensors, batchTensors, disposeBatch, type TokenizedDataset } from "./tokenized.js";

/** A classifier's result on a labelled set. */
export interface Evaluation {
  accuracy: number;
  /** Mean cross-entropy (nats). */
  loss: number;
  /** Correct predictions. */
  correct: number;
  /** Per-example cross-entropies (a private evaluation clips and sums them itself). */
  losses: Float32Array;
  /** Class probabilities (softmax of the logits), row-major [n, classes]: what `predict` reports. */
  probabilities: Float32Array;
}

export interface SchemeModelOptions {
  objective?: Objective;
  /** Precompute frozen-backbone features for the side scheme (default true). */
  cacheSideFeatures?: boolean;
  /** Side scheme: features already computed (e.g. loaded from the on-disk cache); one entry per row. */
  featureCache?: FeatureCache;
  /** Rows per inference forward when precomputing or predicting. */
  inferenceBatch?: number;
  onCacheProgress?: (done: number, total: number) => void;
}

/**
 * Per-example frozen-backbone features: [example][layer] → T·d values as F16 bits. Half of float32's
 * memory (MiniLM at T 64: 344 KB per example instead of 688 KB) at ~1e-3 relative precision, which
 * the side network's learned downsample does not notice; expanded exactly to float32 per batch.
 */
export type FeatureCache = Uint16Array[][];

export function computeFeatureCache(
  scheme: SideScheme,
  data: TokenizedDataset,
  batch = 32,
  onProgress?: (done: number, total: number) => void,
): FeatureCache {
  const out: FeatureCache = [];
  for (let s = 0; s < data.count; s += batch) {
    const rows = Array.from({ length: Math.min(batch, data.count - s) }, (_, i) => s + i);
    const b = batchTensors(data, rows);
    const f = scheme.sideFeatures({ inputIds: b.inputIds, attentionMask: b.attentionMask });
    for (const ex of featuresToArrays(f)) out.push(ex.map((layer) => f32ArrayToF16(layer)));
    tf.dispose(f.hidden);
    disposeBatch(b);
    onProgress?.(out.length, data.count);
  }
  return out;
}

export class SchemeModel implements TrainableModel {
  readonly params: Params;
  readonly objective: Objective;
  private readonly cache: FeatureCache | null;

  constructor(
    readonly scheme: Scheme,
    readonly data: TokenizedDataset,
    options: SchemeModelOptions = {},
  ) {
    this.params = scheme.trainable;
    this.objective = options.objective ?? "classify";
    if (options.featureCache && options.featureCache.length !== data.count) {
      throw new RangeError(`${options.featureCache.length} cached examples for ${data.count} rows`);
    }
    const useCache = (options.cacheSideFeatures ?? true) && scheme instanceof SideScheme;
    this.cache =
      options.featureCache ??
      (useCache
        ? computeFeatureCache(
            scheme as SideScheme,
            data,
            options.inferenceBatch ?? 32,
            options.onCacheProgress,
          )
        : null);
  }

  /** side: the frozen-backbone features of every row (null for other schemes). */
  get featureCache(): FeatureCache | null {
    return this.cache;
  }

  get numExamples(): number {
    return this.data.count;
  }

  private batch(indices: ArrayLike<number>): BatchTensors & { features?: SideFeatures } {
    const b = batchTensors(this.data, indices);
    if (!this.cache) return b;
    const rows = Array.from(indices as ArrayLike<number>, (i) => this.cache![i]!);
    const features = featuresFromArrays(rows, this.data.length, this.scheme.config.nEmbd);
    return { ...b, features };
  }

  private release(b: BatchTensors & { features?: SideFeatures }): void {
    disposeBatch(b);
    if (b.features) tf.dispose(b.features.hidden);
  }

  clippedGradients(indices: Int32Array, clipNorm: number): ClippedBatch {
    if (indices.length === 0) return { clippedSum: new Map(), norms: new Float32Array(0), lossSum: 0 };
    const b = this.batch(indices);
    try {
      const r = this.scheme.clippedGradients(b, { clipNorm, objective: this.objective });
      return { clippedSum: toMap(r.clippedSum), norms: r.norms, lossSum: r.loss * indices.length };
    } finally {
      this.release(b);
    }
  }

  /** Accuracy and losses of the current parameters on this dataset (cached features when side). */
  evaluate(batch = 64, onProgress?: (done: number, total: number) => void): Evaluation {
    const acc = new EvaluationAccumulator(this.data.labels);
    for (let s = 0; s < this.data.count; s += batch) {
      const rows = Array.from({ length: Math.min(batch, this.data.count - s) }, (_, i) => s + i);
      const b = this.batch(rows);
      acc.add(this.scheme, b, s);
      this.release(b);
      onProgress?.(s + rows.length, this.data.count);
    }
    return acc.result();
  }

  gradients(indices: Int32Array): PlainBatch {
    if (indices.length === 0) return { sum: new Map(), lossSum: 0 };
    const b = this.batch(indices);
    try {
      const r = this.scheme.gradients(b, this.objective);
      return { sum: toMap(r.grads), lossSum: r.loss * indices.length };
    } finally {
      this.release(b);
    }
  }
}

function toMap(r: Record<string, tf.Tensor>): Grads {
  return new Map(Object.entries(r));
}

/** Accuracy and losses of a classifier scheme on a tokenized dataset (inference only). */
export function evaluateClassifier(
  scheme: Scheme,
  data: TokenizedDataset,
  batch = 64,
  onProgress?: (done: number, total: number) => void,
): Evaluation {
  const acc = new EvaluationAccumulator(data.labels);
  for (let s = 0; s < data.count; s += batch) {
    const rows = Array.from({ length: Math.min(batch, data.count - s) }, (_, i) => s + i);
    const b = batchTensors(data, rows);
    acc.add(scheme, b, s);
    disposeBatch(b);
    onProgress?.(s + rows.length, data.count);
  }
  return acc.result();
}

/**
 * Collects batches' logits into an Evaluation — one forward per batch for all of it: the losses
 * come from the same logits (a second forward through the backbone doubled the evaluation time of
 * lora, reversible and full).
 */
export class EvaluationAccumulator {
  private correct = 0;
  private readonly losses: Float32Array;
  private probabilities: Float32Array | null = null;

  constructor(private readonly labels: Int32Array) {
    this.losses = new Float32Array(labels.length);
  }

  /** Rows `start`… of a batch: the scheme's logits of it. */
  add(scheme: Scheme, b: BatchTensors & { features?: SideFeatures }, start: number) {
    const z = scheme.classify(b);
    this.addLogits(z, start);
    z.dispose();
  }

  /** Rows `start`… from their logits [rows, classes]. */
  addLogits(logits: tf.Tensor2D, start: number): void {
    const rows = logits.shape[0];
    const labels = this.labels.subarray(start, start + rows);
    const [loss, probs, pred] = tf.tidy(() => [
      crossEntropy(logits, tf.tensor1d(labels, "int32")),
      tf.softmax(logits),
      tf.argMax(logits, 1),
    ]);
    const p = pred!.dataSync();
    const classes = logits.shape[1];
    this.probabilities ??= new Float32Array(this.labels.length * classes);
    this.probabilities.set(probs!.dataSync() as Float32Array, start * classes);
    this.losses.set(loss!.dataSync() as Float32Array, start);
    for (let i = 0; i < p.length; i++) if (p[i] === labels[i]) this.correct++;
    tf.dispose([loss!, probs!, pred!]);
  }

  result(): Evaluation {
    return evaluationOf(this.correct, this.losses, this.probabilities ?? new Float32Array(0));
  }
}

/** The Evaluation record of `correct` hits, per-example `losses` and class `probabilities`. */
export function evaluationOf(correct: number, losses: Float32Array, probabilities: Float32Array): Evaluation {
  const n = losses.length;
  let sum = 0;
  for (const l of losses) sum += l;
  return {
    accuracy: n ? correct / n : Number.NaN,
    loss: n ? sum / n : Number.NaN,
    correct,
    losses,
    probabilities,
  };
}
