/**
 * One interface over everything `runFinetune` can train: the four transformer schemes of
 * @memarc/models (on a frozen backbone, tokenized with the backbone's own tokenizer) and the
 * linear classifiers of linear.ts (hashed bag of words; the encoder's pooled embedding). Each binds a labelled text set to a
 * TrainableModel for the DP-SGD engine, so all of them go through the same engine, clipping,
 * noise and accountant.
 */

import {
  FullScheme,
  LoraScheme,
  ReversibleScheme,
  type Scheme,
  type SchemeKind,
  SideScheme,
} from "@memarc/models";
import type { TrainableModel } from "../model.js";
import type { Params } from "../optimizers.js";
import { ClipPool, workerBackboneSource } from "../parallel/clip-pool.js";
import { ParallelSchemeModel } from "../parallel/parallel-model.js";
import { featureDataKey, featuresOnPool } from "../parallel/pool-features.js";
import { type Evaluation, evaluateClassifier, type FeatureCache, SchemeModel } from "../scheme-model.js";
import { tokenizeDataset } from "../tokenized.js";
import type { Backbone } from "./backbone.js";
import {
  backboneWeightsFile,
  featureCacheKey,
  loadOrComputeFeatures,
  loadOrComputeFeaturesWith,
} from "./feature-cache.js";
import type { FrozenPass } from "./frozen-pass.js";
import { hashedFeaturizer, LinearFinetune, pooledFeaturizer } from "./linear.js";

export type FinetuneSchemeKind = SchemeKind | "logreg" | "probe";
export const FINETUNE_SCHEMES: readonly FinetuneSchemeKind[] = [
  "side",
  "reversible",
  "lora",
  "full",
  "probe",
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
  /** Progress of `evaluate`: examples classified of total (lora/reversible/full run the whole model). */
  onEvaluate?: (done: number, total: number) => void;
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
  /**
   * Transformer schemes: worker threads for the DP step's micro-batches (default 1: this thread).
   * Each worker loads the backbone from its directory once and lives until `dispose`.
   */
  threads?: number;
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
  /** Accuracy, losses and probabilities of the current parameters (on `o.threads` workers when > 1). */
  evaluate(texts: readonly string[], labels: Int32Array, o: BindOptions): Promise<Evaluation>;
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
  /** Worker threads for DP steps, started by the first bind that asks for them. */
  private pool: ClipPool | null = null;

  constructor(
    readonly scheme: Scheme,
    private readonly backbone: Backbone,
    private readonly options: CreateSchemeOptions,
  ) {
    this.kind = scheme.kind;
  }

  /** The DP-step workers (started on first use; restarted when the thread count changes). */
  private poolFor(threads: number, objective: SchemeModel["objective"]): ClipPool {
    if (!Number.isSafeInteger(threads) || threads < 1)
      throw new RangeError(`threads must be a positive integer, got ${threads}`);
    const source = workerBackboneSource(this.backbone);
    if (this.pool && this.pool.threads !== threads) {
      void this.pool.close();
      this.pool = null;
    }
    this.pool ??= new ClipPool(threads, {
      backbone: source,
      kind: this.kind,
      scheme: this.options,
      objective,
    });
    return this.pool;
  }

  /** `model` with its DP-step micro-batches on `threads` worker threads (when more than one). */
  private withThreads(model: SchemeModel, threads: number | undefined): TrainableModel {
    if (threads === undefined || threads <= 1) return model;
    return new ParallelSchemeModel(model, this.poolFor(threads, model.objective));
  }

  /** side features `prepare` computed on the DP-step workers (no inference engine), by data key. */
  private readonly pooled = new Map<string, FeatureCache>();

  /** A SchemeModel over features computed on the workers by `prepare`, else null. */
  private pooledModel(texts: readonly string[], labels: Int32Array, o: BindOptions): SchemeModel | null {
    if (this.pooled.size === 0) return null;
    const data = this.tokenize(texts, labels, o);
    const hit = this.pooled.get(featureDataKey(data));
    if (!hit) return null;
    o.onPrepare?.(data.count, data.count);
    return new SchemeModel(this.scheme, data, { objective: "classify", featureCache: hit });
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
    return this.backbone.dir ? backboneWeightsFile(this.backbone.dir) : null;
  }

  async prepare(texts: readonly string[], labels: Int32Array, o: BindOptions): Promise<void> {
    if (!(this.scheme instanceof SideScheme)) return;
    if (!o.frozen) {
      // No inference engine: with DP-step workers (and no disk cache to fill), they compute the
      // features too; otherwise bind computes them on this thread.
      if ((o.threads ?? 1) <= 1 || o.featureCacheDir) return;
      const data = this.tokenize(texts, labels, o);
      const key = featureDataKey(data);
      if (this.pooled.has(key)) return;
      const cache = await featuresOnPool(this.poolFor(o.threads!, "classify"), data, {
        width: this.scheme.config.nEmbd,
        ...(o.onPrepare ? { onProgress: o.onPrepare } : {}),
      });
      this.pooled.set(key, cache);
      return;
    }
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
    this.pooled.clear();
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
    const model =
      this.diskCached(texts, labels, o) ??
      this.pooledModel(texts, labels, o) ??
      new SchemeModel(this.scheme, this.tokenize(texts, labels, o), {
        objective: "classify",
        onCacheProgress: o.onPrepare,
      });
    return this.withThreads(model, o.threads);
  }

  async evaluate(texts: readonly string[], labels: Int32Array, o: BindOptions): Promise<Evaluation> {
    // "0 done" marks the pass's start, so a reporter times it from here, not from its creation.
    o.onEvaluate?.(0, texts.length);
    const quiet = { ...o, onPrepare: undefined };
    const cached = this.diskCached(texts, labels, quiet) ?? this.pooledModel(texts, labels, quiet);
    if (cached) return cached.evaluate(undefined, o.onEvaluate);
    const data = this.tokenize(texts, labels, o);
    // lora, reversible and full run the whole backbone per example: their forwards go to the
    // workers (side's are cheap once its features exist, and those come from `prepare`).
    if (o.threads !== undefined && o.threads > 1 && !(this.scheme instanceof SideScheme)) {
      const local = new SchemeModel(this.scheme, data, { objective: "classify" });
      return new ParallelSchemeModel(local, this.poolFor(o.threads, "classify")).evaluate(
        undefined,
        o.onEvaluate,
      );
    }
    return evaluateClassifier(this.scheme, data, undefined, o.onEvaluate);
  }

  prepareEvaluation(texts: readonly string[], labels: Int32Array, o: BindOptions): () => Evaluation {
    const quiet = { ...o, onPrepare: undefined };
    const cached = this.diskCached(texts, labels, quiet) ?? this.pooledModel(texts, labels, quiet);
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
    void this.pool?.close();
    this.pool = null;
    this.scheme.dispose();
  }
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
  if (kind === "logreg")
    return new LinearFinetune("logreg", o.numClasses, hashedFeaturizer(o.hashDim ?? 4096));
  if (!backbone) throw new RangeError(`scheme ${kind} needs a backbone`);
  if (kind === "probe") return new LinearFinetune("probe", o.numClasses, pooledFeaturizer(backbone));
  const base = { numClasses: o.numClasses, initSeed: o.seed ?? 1 };
  const bb = backbone.model;
  switch (kind) {
    case "full":
      return new TransformerFinetune(new FullScheme(bb, base), backbone, o);
    case "lora":
      return new TransformerFinetune(new LoraScheme(bb, { ...base, rank: o.rank ?? 8 }), backbone, o);
    case "side":
      return new TransformerFinetune(
        new SideScheme(bb, { ...base, reduction: o.reduction ?? 8 }),
        backbone,
        o,
      );
    case "reversible":
      return new TransformerFinetune(
        new ReversibleScheme(bb, { ...base, adapterDim: o.adapterDim ?? 16 }),
        backbone,
        o,
      );
    default:
      throw new RangeError(`unknown scheme "${kind as string}"`);
  }
}
