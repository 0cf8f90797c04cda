/**
 * One interface over everything `runFinetune` can train: the four transformer schemes of
 * @memarc/models (on a frozen backbone, tokenized with the backbone's own tokenizer) and the
 * hashed bag-of-words logistic-regression baseline. Each binds a labelled text set to a
 * TrainableModel for the DP-SGD engine, so all of them go through the same engine, clipping,
 * noise and accountant.
 */

import { join } from "node:path";
import {
  FullScheme,
  LoraScheme,
  ReversibleScheme,
  type Scheme,
  type SchemeKind,
  SideScheme,
} from "@memarc/models";
import * as tf from "@tensorflow/tfjs";
import { hashedBagOfWords } from "../baselines/hashed-features.js";
import { LogisticRegression } from "../baselines/logistic-regression.js";
import type { TrainableModel } from "../model.js";
import type { Params } from "../optimizers.js";
import {
  type Evaluation,
  evaluateClassifier,
  evaluationOf,
  type FeatureCache,
  SchemeModel,
} from "../scheme-model.js";
import { tokenizeDataset } from "../tokenized.js";
import type { Backbone } from "./backbone.js";
import {
  type FrozenPass,
  featureCacheKey,
  loadOrComputeFeatures,
  loadOrComputeFeaturesWith,
} from "./feature-cache.js";

export type FinetuneSchemeKind = SchemeKind | "logreg";
export const FINETUNE_SCHEMES: readonly FinetuneSchemeKind[] = [
  "side",
  "reversible",
  "lora",
  "full",
  "logreg",
];
export const TRANSFORMER_SCHEMES: readonly SchemeKind[] = ["side", "reversible", "lora", "full"];

export interface CreateSchemeOptions {
  numClasses: number;
  /** Seed for the new (non-backbone) parameters; not privacy-relevant. Default 1. */
  seed?: number;
  /** side: width reduction r (default 8). */
  reduction?: number;
  /** lora: rank (default 8). */
  rank?: number;
  /** reversible: adapter bottleneck (default 16). */
  adapterDim?: number;
  /** logreg: hashed feature dimension (default 4096). */
  hashDim?: number;
}

export interface BindOptions {
  /** Tokens per example (truncate/pad); ≤ the backbone's context. Ignored by logreg. */
  contextLength: number;
  /** Progress of one-off preparation work (side: the frozen-backbone feature cache). */
  onPrepare?: (done: number, total: number) => void;
  /**
   * side only: keep the frozen-backbone features in this directory and reuse them across runs
   * (keyed by a hash of the weights and token ids). Needs a backbone loaded from a directory.
   */
  featureCacheDir?: string;
  /**
   * side only, used by `prepare`: the engine that computes frozen-backbone features (e.g. ONNX
   * Runtime via @memarc/inference). Without one the tfjs model computes them.
   */
  frozen?: FrozenPass;
}

export type { Evaluation } from "../scheme-model.js";

/** Something runFinetune can train. */
export interface FinetuneScheme {
  readonly kind: FinetuneSchemeKind;
  /** The @memarc/models scheme (transformer kinds only). */
  readonly scheme?: Scheme;
  /** The trainable variables (available once bound for logreg). */
  readonly params: Params;
  trainableParamCount(): number;
  /**
   * Compute what `bind`/`evaluate` will need of a text set ahead of time, asynchronously — for side,
   * the frozen-backbone features, on `o.frozen` when given (a no-op for the other schemes). Calling
   * it is optional: `bind` computes anything missing itself, on tfjs.
   */
  prepare(texts: readonly string[], labels: Int32Array, o: BindOptions): Promise<void>;
  /** Drop what `prepare` keeps in memory (side: features), e.g. between chunks of a large file. */
  forgetPrepared(): void;
  /** Prepare a labelled text set for the engine (tokenize / hash; side: cache backbone features). */
  bind(texts: readonly string[], labels: Int32Array, o: BindOptions): TrainableModel;
  evaluate(texts: readonly string[], labels: Int32Array, o: BindOptions): Evaluation;
  /**
   * Prepare a fixed evaluation set once (tokenize / hash; side: load or compute its frozen-backbone
   * features) and return a cheap function that evaluates the CURRENT parameters on it. For evaluating
   * the same set every round (federated evaluation, the coordinator's test set).
   */
  prepareEvaluation(texts: readonly string[], labels: Int32Array, o: BindOptions): () => Evaluation;
  exportTrainable(): Record<string, Float32Array>;
  importTrainable(w: Record<string, Float32Array>): void;
  dispose(): void;
}

class TransformerFinetune implements FinetuneScheme {
  readonly kind: SchemeKind;
  constructor(
    readonly scheme: Scheme,
    private readonly backbone: Backbone,
  ) {
    this.kind = scheme.kind;
  }

  get params(): Params {
    return this.scheme.trainable;
  }

  trainableParamCount(): number {
    return this.scheme.trainableParamCount();
  }

  private tokenize(texts: readonly string[], labels: Int32Array, o: BindOptions) {
    const max = this.scheme.config.nPositions;
    if (!Number.isSafeInteger(o.contextLength) || o.contextLength < 1 || o.contextLength > max)
      throw new RangeError(
        `context length must be in [1, ${max}] (the backbone's context), got ${o.contextLength}`,
      );
    if (!this.backbone.tokenizer)
      throw new RangeError("this backbone has no tokenizer: cannot tokenize texts");
    return tokenizeDataset(this.backbone.tokenizer, texts, labels, o.contextLength);
  }

  /** Features `prepare` computed, by feature-cache key (side). */
  private readonly prepared = new Map<string, FeatureCache>();

  private weightsFile(): string | null {
    return this.backbone.dir ? join(this.backbone.dir, "model.safetensors") : null;
  }

  async prepare(texts: readonly string[], labels: Int32Array, o: BindOptions): Promise<void> {
    if (!(this.scheme instanceof SideScheme) || !o.frozen) return;
    const weightsFile = this.weightsFile();
    if (!weightsFile)
      throw new RangeError("prepare with an inference engine needs a backbone loaded from a directory");
    const data = this.tokenize(texts, labels, o);
    if (this.prepared.has(featureCacheKey(weightsFile, this.scheme.config, data))) return;
    const { key, cache } = await loadOrComputeFeaturesWith(o.frozen, this.scheme, data, {
      weightsFile,
      ...(o.featureCacheDir ? { dir: o.featureCacheDir } : {}),
      ...(o.onPrepare ? { onProgress: o.onPrepare } : {}),
    });
    this.prepared.set(key, cache);
  }

  forgetPrepared(): void {
    this.prepared.clear();
  }

  /** A SchemeModel over features already prepared in memory or cached on disk (side), else null. */
  private diskCached(texts: readonly string[], labels: Int32Array, o: BindOptions): SchemeModel | null {
    if (!(this.scheme instanceof SideScheme)) return null;
    const weights = this.weightsFile();
    if (this.prepared.size > 0 && weights) {
      const data = this.tokenize(texts, labels, o);
      const hit = this.prepared.get(featureCacheKey(weights, this.scheme.config, data));
      if (hit) {
        o.onPrepare?.(data.count, data.count);
        return new SchemeModel(this.scheme, data, { objective: "classify", featureCache: hit });
      }
    }
    if (!o.featureCacheDir) return null;
    if (!weights) throw new RangeError("featureCacheDir needs a backbone loaded from a directory");
    const data = this.tokenize(texts, labels, o);
    const cache = loadOrComputeFeatures(this.scheme, data, o.featureCacheDir, weights, o.onPrepare);
    return new SchemeModel(this.scheme, data, { objective: "classify", featureCache: cache });
  }

  bind(texts: readonly string[], labels: Int32Array, o: BindOptions): TrainableModel {
    return (
      this.diskCached(texts, labels, o) ??
      new SchemeModel(this.scheme, this.tokenize(texts, labels, o), {
        objective: "classify",
        onCacheProgress: o.onPrepare,
      })
    );
  }

  evaluate(texts: readonly string[], labels: Int32Array, o: BindOptions): Evaluation {
    const cached = this.diskCached(texts, labels, { ...o, onPrepare: undefined });
    if (cached) return cached.evaluate();
    return evaluateClassifier(this.scheme, this.tokenize(texts, labels, o));
  }

  prepareEvaluation(texts: readonly string[], labels: Int32Array, o: BindOptions): () => Evaluation {
    const cached = this.diskCached(texts, labels, { ...o, onPrepare: undefined });
    if (cached) return () => cached.evaluate();
    // Side: SchemeModel keeps the frozen-backbone features in memory; other schemes run the model.
    const model = new SchemeModel(this.scheme, this.tokenize(texts, labels, o), { objective: "classify" });
    return () => model.evaluate();
  }

  exportTrainable() {
    return this.scheme.exportTrainable();
  }

  importTrainable(w: Record<string, Float32Array>) {
    this.scheme.importTrainable(w);
  }

  dispose(): void {
    this.scheme.dispose();
  }
}

/**
 * Hashed bag-of-words logistic regression. The variables live in the LogisticRegression bound to
 * the training set (it owns its feature matrix); evaluation reuses them on other texts.
 */
class LogregFinetune implements FinetuneScheme {
  readonly kind = "logreg" as const;
  private model: LogisticRegression | null = null;
  private pending: Record<string, Float32Array> | null = null;

  constructor(
    readonly numClasses: number,
    readonly dim: number,
  ) {
    if (!Number.isSafeInteger(dim) || dim < 2) throw new RangeError(`hash dimension must be ≥ 2, got ${dim}`);
  }

  async prepare(): Promise<void> {}

  forgetPrepared(): void {}

  get params(): Params {
    if (!this.model) throw new Error("logreg: bind a training set before reading its parameters");
    return this.model.params;
  }

  trainableParamCount(): number {
    return (this.dim + 1) * this.numClasses;
  }

  bind(texts: readonly string[], labels: Int32Array): LogisticRegression {
    const next = new LogisticRegression(hashedBagOfWords(texts, this.dim), labels, this.numClasses);
    const carry = this.pending ?? (this.model ? this.exportTrainable() : null);
    this.model?.dispose();
    this.model = next;
    this.pending = null;
    if (carry) this.importTrainable(carry);
    return next;
  }

  /**
   * The parameters to evaluate: the bound model's, or — for a model loaded from disk and never
   * bound — the imported ones.
   */
  private evaluationParams(): Params {
    if (this.model) return this.model.params;
    if (!this.pending) throw new Error("logreg: bind a training set or import weights before evaluating");
    const w = this.pending;
    if (!this.loaded) {
      const weight = w.weight;
      const bias = w.bias;
      if (!weight || !bias || bias.length !== this.numClasses || weight.length !== this.dim * this.numClasses)
        throw new RangeError("logreg import: weight/bias missing or wrong size");
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
  private loaded: Params | null = null;

  evaluate(texts: readonly string[], labels: Int32Array): Evaluation {
    return evaluateLinear(this.evaluationParams(), hashedBagOfWords(texts, this.dim), labels, this.dim);
  }

  prepareEvaluation(texts: readonly string[], labels: Int32Array): () => Evaluation {
    const x = hashedBagOfWords(texts, this.dim);
    return () => evaluateLinear(this.evaluationParams(), x, labels, this.dim);
  }

  exportTrainable(): Record<string, Float32Array> {
    if (!this.model) {
      if (this.pending) return this.pending;
      throw new Error("logreg: nothing to export before binding");
    }
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
      if (!x || x.length !== v.size) throw new RangeError(`logreg import: ${k} missing or wrong size`);
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

/**
 * A fresh trainable model of `kind` on `backbone` (ignored, and may be null, for logreg). New
 * parameters are initialised from `seed`; every transformer scheme starts at the backbone's function
 * plus a fresh classification head.
 */
export function createScheme(
  kind: FinetuneSchemeKind,
  backbone: Backbone | null,
  o: CreateSchemeOptions,
): FinetuneScheme {
  if (kind === "logreg") return new LogregFinetune(o.numClasses, o.hashDim ?? 4096);
  if (!backbone) throw new RangeError(`scheme ${kind} needs a backbone`);
  const base = { numClasses: o.numClasses, initSeed: o.seed ?? 1 };
  const bb = backbone.model;
  switch (kind) {
    case "full":
      return new TransformerFinetune(new FullScheme(bb, base), backbone);
    case "lora":
      return new TransformerFinetune(new LoraScheme(bb, { ...base, rank: o.rank ?? 8 }), backbone);
    case "side":
      return new TransformerFinetune(new SideScheme(bb, { ...base, reduction: o.reduction ?? 8 }), backbone);
    case "reversible":
      return new TransformerFinetune(
        new ReversibleScheme(bb, { ...base, adapterDim: o.adapterDim ?? 16 }),
        backbone,
      );
    default:
      throw new RangeError(`unknown scheme "${kind as string}"`);
  }
}
