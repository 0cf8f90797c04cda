/**
 * Linear softmax classifiers on fixed features, trained by the same DP-SGD engine as the transformer
 * schemes:
 *   logreg  hashed bag of words (no backbone): the DP baseline
 *   probe   the frozen encoder's mean-pooled, L2-normalised sentence embedding (sentence-transformers'
 *           embedding for all-MiniLM-L6-v2): a DP linear probe. Only d·C + C numbers are trained and
 *           noised (770 for the bundled encoder and two classes), against 318,584 for side — the
 *           "private learning needs better features" setting of Tramèr & Boneh (2021).
 * The variables live in the LogisticRegression bound to the training set (it owns its feature
 * matrix); evaluation reuses them on other texts, or, for a model loaded from disk that was never
 * bound, the imported weights.
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import * as tf from "@tensorflow/tfjs";
import { hashedBagOfWords } from "../baselines/hashed-features.js";
import { LogisticRegression } from "../baselines/logistic-regression.js";
import type { Params } from "../optimizers.js";
import { type Evaluation, evaluationOf } from "../scheme-model.js";
import { batchTensors, disposeBatch, tokenizeDataset } from "../tokenized.js";
import type { Backbone } from "./backbone.js";
import type { BindOptions } from "./schemes.js";

/** Texts → row-major [n, dim] features. */
export interface Featurizer {
  readonly dim: number;
  /** Compute ahead of time what `features` will need (probe: embeddings on `o.frozen`). */
  prepare(texts: readonly string[], o: BindOptions): Promise<void>;
  features(texts: readonly string[], o: BindOptions): Float32Array;
  forget(): void;
}

export function hashedFeaturizer(dim: number): Featurizer {
  if (!Number.isSafeInteger(dim) || dim < 2) throw new RangeError(`hash dimension must be ≥ 2, got ${dim}`);
  return {
    dim,
    prepare: async () => {},
    features: (texts) => hashedBagOfWords(texts, dim),
    forget: () => {},
  };
}

const PROBE_BATCH = 64;

/** Mean-pooled, L2-normalised final states of the frozen backbone (tokenized to o.contextLength). */
export function pooledFeaturizer(backbone: Backbone): Featurizer {
  const dim = backbone.model.config.nEmbd;
  const prepared = new Map<string, Float32Array>();
  const tokenizer = backbone.tokenizer;
  if (!tokenizer) throw new RangeError("probe: the backbone has no tokenizer");
  const key = (texts: readonly string[], o: BindOptions) => {
    const h = sha256.create().update(utf8ToBytes(String(o.contextLength)));
    for (const t of texts) h.update(utf8ToBytes(`\u0000${t}`));
    return bytesToHex(h.digest());
  };
  const tokenize = (texts: readonly string[], o: BindOptions) =>
    tokenizeDataset(tokenizer, texts, new Int32Array(texts.length), o.contextLength);
  return {
    dim,
    async prepare(texts, o) {
      if (!o.frozen || prepared.has(key(texts, o))) return;
      const data = tokenize(texts, o);
      const out = new Float32Array(data.count * dim);
      for (let s = 0; s < data.count; s += PROBE_BATCH) {
        const n = Math.min(PROBE_BATCH, data.count - s);
        const ids = data.ids.subarray(s * data.length, (s + n) * data.length);
        const mask = new Float32Array(n * data.length);
        for (let i = 0; i < n; i++) mask.fill(1, i * data.length, i * data.length + data.lengths[s + i]!);
        const r = await o.frozen.run(ids, mask, n, data.length);
        for (let i = 0; i < n; i++) normalizedRow(r.pooled, i, dim, out, s + i);
        o.onPrepare?.(s + n, data.count);
      }
      prepared.set(key(texts, o), out);
    },
    features(texts, o) {
      const hit = prepared.get(key(texts, o));
      if (hit) return hit;
      // No engine prepared these texts: the backbone's tfjs forward, batch by batch.
      const data = tokenize(texts, o);
      const out = new Float32Array(data.count * dim);
      for (let s = 0; s < data.count; s += PROBE_BATCH) {
        const rows = Array.from({ length: Math.min(PROBE_BATCH, data.count - s) }, (_, i) => s + i);
        const b = batchTensors(data, rows);
        const pooled = tf.tidy(() => {
          const { final } = backbone.model.forward(b.inputIds, b.attentionMask);
          const m = tf.expandDims(b.attentionMask, 2);
          const mean = tf.div(tf.sum(tf.mul(final, m), 1), tf.maximum(tf.sum(m, 1), 1));
          return tf.div(mean, tf.maximum(tf.norm(mean, 2, 1, true), 1e-12));
        });
        out.set(pooled.dataSync() as Float32Array, s * dim);
        pooled.dispose();
        disposeBatch(b);
        o.onPrepare?.(s + rows.length, data.count);
      }
      return out;
    },
    forget: () => prepared.clear(),
  };
}

/** out[row] = x[i, :] / ‖x[i, :]‖. */
function normalizedRow(x: Float32Array, i: number, dim: number, out: Float32Array, row: number): void {
  let norm = 0;
  for (let d = 0; d < dim; d++) norm += x[i * dim + d]! * x[i * dim + d]!;
  const inv = 1 / Math.max(Math.sqrt(norm), 1e-12);
  for (let d = 0; d < dim; d++) out[row * dim + d] = x[i * dim + d]! * inv;
}

export class LinearFinetune {
  private model: LogisticRegression | null = null;
  private pending: Record<string, Float32Array> | null = null;
  private loaded: Params | null = null;

  constructor(
    readonly kind: "logreg" | "probe",
    readonly numClasses: number,
    private readonly featurizer: Featurizer,
  ) {}

  get dim(): number {
    return this.featurizer.dim;
  }

  prepare(texts: readonly string[], _labels: Int32Array, o: BindOptions): Promise<void> {
    return this.featurizer.prepare(texts, o);
  }

  forgetPrepared(): void {
    this.featurizer.forget();
  }

  /** Before any binding: the imported weights, or the zeros a fresh LogisticRegression starts from. */
  get params(): Params {
    if (this.model) return this.model.params;
    this.pending ??= this.zeros();
    return this.evaluationParams();
  }

  private zeros(): Record<string, Float32Array> {
    return { weight: new Float32Array(this.dim * this.numClasses), bias: new Float32Array(this.numClasses) };
  }

  trainableParamCount(): number {
    return (this.dim + 1) * this.numClasses;
  }

  bind(texts: readonly string[], labels: Int32Array, o: BindOptions): LogisticRegression {
    const next = new LogisticRegression(this.featurizer.features(texts, o), labels, this.numClasses);
    const carry = this.pending ?? (this.model ? this.exportTrainable() : null);
    this.model?.dispose();
    this.model = next;
    this.pending = null;
    if (carry) this.importTrainable(carry);
    return next;
  }

  /** The bound model's parameters, or the imported ones of a model that was never bound. */
  private evaluationParams(): Params {
    if (this.model) return this.model.params;
    if (!this.pending)
      throw new Error(`${this.kind}: bind a training set or import weights before evaluating`);
    if (!this.loaded) {
      const { weight, bias } = this.pending;
      if (!weight || !bias || bias.length !== this.numClasses || weight.length !== this.dim * this.numClasses)
        throw new RangeError(`${this.kind} import: weight/bias missing or wrong size`);
      const constant = (t: tf.Tensor): tf.Variable => {
        const v = tf.variable(t, false);
        t.dispose();
        return v;
      };
      this.loaded = new Map([
        ["weight", constant(tf.tensor2d(weight, [this.dim, this.numClasses]))],
        ["bias", constant(tf.tensor1d(bias))],
      ]);
    }
    return this.loaded;
  }

  async evaluate(texts: readonly string[], labels: Int32Array, o: BindOptions): Promise<Evaluation> {
    return evaluateLinear(this.evaluationParams(), this.featurizer.features(texts, o), labels, this.dim);
  }

  prepareEvaluation(texts: readonly string[], labels: Int32Array, o: BindOptions): () => Evaluation {
    const x = this.featurizer.features(texts, o);
    return () => evaluateLinear(this.evaluationParams(), x, labels, this.dim);
  }

  exportTrainable(): Record<string, Float32Array> {
    if (!this.model) return this.pending ?? this.zeros();
    const out: Record<string, Float32Array> = {};
    for (const [k, v] of this.model.params) out[k] = Float32Array.from(v.dataSync());
    return out;
  }

  importTrainable(w: Record<string, Float32Array>): void {
    if (!this.model) {
      this.pending = w;
      this.disposeLoaded();
      return;
    }
    for (const [k, v] of this.model.params) {
      const x = w[k];
      if (!x || x.length !== v.size) throw new RangeError(`${this.kind} import: ${k} missing or wrong size`);
      const t = tf.tensor(x, v.shape);
      v.assign(t);
      t.dispose();
    }
  }

  private disposeLoaded(): void {
    for (const v of this.loaded?.values() ?? []) v.dispose();
    this.loaded = null;
  }

  dispose(): void {
    this.model?.dispose();
    this.model = null;
    this.disposeLoaded();
  }
}

/** Accuracy and mean cross-entropy of a linear softmax model on row-major features [n, dim]. */
function evaluateLinear(params: Params, x: Float32Array, labels: Int32Array, dim: number): Evaluation {
  const n = labels.length;
  let correct = 0;
  const losses = new Float32Array(n);
  const classes = params.get("bias")!.shape[0]!;
  const probabilities = new Float32Array(n * classes);
  const chunk = 512;
  for (let s = 0; s < n; s += chunk) {
    const e = Math.min(n, s + chunk);
    const [pred, nll, probs] = tf.tidy(() => {
      const xs = tf.tensor2d(x.subarray(s * dim, e * dim), [e - s, dim]);
      const logits = tf.add(tf.matMul(xs, params.get("weight")!), params.get("bias")!);
      const y = tf.oneHot(tf.tensor1d(labels.subarray(s, e), "int32"), logits.shape[1]!);
      return [tf.argMax(logits, 1), tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1)), tf.softmax(logits)];
    });
    const p = pred!.dataSync();
    const l = nll!.dataSync();
    for (let i = 0; i < e - s; i++) if (p[i] === labels[s + i]) correct++;
    losses.set(l as Float32Array, s);
    probabilities.set(probs!.dataSync() as Float32Array, s * classes);
    tf.dispose([pred!, nll!, probs!]);
  }
  return evaluationOf(correct, losses, probabilities);
}
