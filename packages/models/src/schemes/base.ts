/**
 * Shared machinery: parameter lookup (trainable first, then the frozen backbone), export/import,
 * and the one-backward book-keeping DP step used by full, lora and side.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackboneModel } from "../core/backbone.js";
import { accumulate, clipFactors, siteWeightedSum, totalSqNorms } from "../core/bookkeeping.js";
import { ModelError } from "../core/errors.js";
import { classifyLogits, classifyLoss, lmLoss } from "../core/losses.js";
import { disposeSites } from "../core/sites.js";
import { Tracer, type TracerOptions } from "../core/tracer.js";
import type {
  Batch,
  ClippedGradients,
  Objective,
  PlainGradients,
  Scheme,
  SchemeKind,
  SchemeOptions,
  StepOptions,
} from "./types.js";

let nextInstance = 0;

export abstract class BaseScheme implements Scheme {
  abstract readonly kind: SchemeKind;
  readonly trainable = new Map<string, tf.Variable>();
  readonly numClasses: number;
  protected readonly dropout: number;
  protected step = 0;
  protected loraScale?: number;

  private readonly instance = nextInstance++;

  constructor(
    readonly backbone: BackboneModel,
    opts: SchemeOptions,
  ) {
    if (!Number.isSafeInteger(opts.numClasses) || opts.numClasses < 1)
      throw new ModelError("E_CONFIG", `numClasses must be a positive integer, got ${opts.numClasses}`);
    this.numClasses = opts.numClasses;
    this.dropout = opts.dropout ?? 0;
  }

  get config() {
    return this.backbone.config;
  }

  /**
   * Rejects an objective the backbone cannot train, before any tensor is made: "lm" (next-token
   * prediction through the tied token table) is only defined for a causal backbone.
   */
  protected checkObjective(objective: Objective): void {
    if (objective === "lm" && !this.backbone.causal)
      throw new ModelError(
        "E_OBJECTIVE",
        `objective "lm" needs a causal language model; this ${this.backbone.architecture} backbone is ` +
          'bidirectional (use "classify")',
      );
  }

  protected addTrainable(name: string, t: tf.Tensor): void {
    // tfjs variable names are global: make them unique per scheme instance.
    this.trainable.set(name, tf.variable(t, false, `${this.kind}${this.instance}/${name}`));
    t.dispose();
  }

  /** Classification head [D_head → numClasses]: small random weights (seeded), zero bias. */
  protected addClassifier(width: number, seed: number): void {
    this.addTrainable("cls.weight", tf.randomNormal([width, this.numClasses], 0, 0.02, "float32", seed));
    this.addTrainable("cls.bias", tf.zeros([this.numClasses]));
  }

  lookup(override?: Map<string, tf.Tensor>): (name: string) => tf.Tensor {
    return (name) => {
      const t = override?.get(name) ?? this.trainable.get(name) ?? this.backbone.params.get(name);
      if (!t) throw new ModelError("E_WEIGHTS", `no parameter ${name}`);
      return t;
    };
  }

  tracerOptions(
    mode: "plain" | "probe",
    training: boolean,
    override?: Map<string, tf.Tensor>,
    seed = 0,
  ): TracerOptions {
    return {
      mode,
      lookup: this.lookup(override),
      isTrainable: (n) => this.trainable.has(n),
      hasParam: (n) => this.trainable.has(n) || this.backbone.params.has(n),
      dropout: training ? this.dropout : 0,
      dropoutSeed: seed,
      loraScale: this.loraScale,
    };
  }

  /** The model's final hidden states for the heads: [B,T,D] (the backbone's `final` applied). */
  protected abstract hiddenForHead(tr: Tracer, batch: Batch): tf.Tensor3D;

  /** Per-example loss through tracer `tr`. */
  lossWith(tr: Tracer, batch: Batch, objective: Objective): tf.Tensor1D {
    this.checkObjective(objective);
    const h = this.hiddenForHead(tr, batch);
    if (objective === "classify") {
      if (!batch.labels) throw new ModelError("E_INPUT", 'objective "classify" needs batch.labels');
      return classifyLoss(tr, h, batch.attentionMask, batch.labels);
    }
    return lmLoss(tr, h, batch.inputIds, batch.attentionMask, this.backbone.tokenTable);
  }

  perExampleLoss(batch: Batch, objective: Objective): tf.Tensor1D {
    this.checkObjective(objective);
    return tf.tidy(() => this.lossWith(new Tracer(this.tracerOptions("plain", false)), batch, objective));
  }

  /** Autodiff reference (tests): per-example loss with trainable params replaced by `params`. */
  lossWithParams(
    params: Map<string, tf.Tensor>,
    batch: Batch,
    objective: Objective,
    dropoutSeed = 0,
  ): tf.Tensor1D {
    return this.lossWith(
      new Tracer(this.tracerOptions("plain", true, params, dropoutSeed)),
      batch,
      objective,
    );
  }

  classify(batch: Batch): tf.Tensor2D {
    return tf.tidy(() => {
      const tr = new Tracer(this.tracerOptions("plain", false));
      return classifyLogits(tr, this.hiddenForHead(tr, batch), batch.attentionMask);
    });
  }

  /** One forward + one backward in probe mode: every trainable site's (a, g), and the losses. */
  protected probe(batch: Batch, objective: Objective, seed: number) {
    this.checkObjective(objective);
    const s = tf.scalar(0);
    const tr = new Tracer(this.tracerOptions("probe", true, undefined, seed), s);
    let kept: tf.Tensor1D | undefined;
    const { value, grads } = tf.valueAndGrads((_x: tf.Tensor) => {
      const l = this.lossWith(tr, batch, objective);
      kept = tf.keep(tf.clone(l));
      return tf.sum(l) as tf.Scalar;
    })([s]);
    tf.dispose([value, ...grads, s]);
    const losses = kept!.dataSync() as Float32Array;
    const b = kept!.shape[0];
    kept!.dispose();
    return { sites: tr.sites, losses, b };
  }

  protected finish(acc: Map<string, tf.Tensor>): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [name, v] of this.trainable) out[name] = acc.get(name) ?? tf.zerosLike(v);
    return out;
  }

  clippedGradients(batch: Batch, opts: StepOptions): ClippedGradients {
    const seed = opts.dropoutSeed ?? this.step++;
    const { sites, losses, b } = this.probe(batch, opts.objective, seed);
    try {
      const sq = totalSqNorms(sites, b);
      const c = clipFactors(sq, opts.clipNorm);
      const acc = new Map<string, tf.Tensor>();
      for (const s of sites)
        accumulate(
          acc,
          siteWeightedSum(s, c, (n) => this.lookup()(n).shape),
        );
      const normT = tf.sqrt(sq);
      const norms = normT.dataSync() as Float32Array;
      tf.dispose([sq, c, normT]);
      return { clippedSum: this.finish(acc), norms: Float32Array.from(norms), loss: mean(losses) };
    } finally {
      disposeSites(sites);
    }
  }

  gradients(batch: Batch, objective: Objective, dropoutSeed?: number): PlainGradients {
    const { sites, losses } = this.probe(batch, objective, dropoutSeed ?? this.step++);
    try {
      const acc = new Map<string, tf.Tensor>();
      for (const s of sites)
        accumulate(
          acc,
          siteWeightedSum(s, null, (n) => this.lookup()(n).shape),
        );
      return { grads: this.finish(acc), loss: mean(losses) };
    } finally {
      disposeSites(sites);
    }
  }

  trainableParamCount(): number {
    let n = 0;
    for (const v of this.trainable.values()) n += v.size;
    return n;
  }

  exportTrainable(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const [k, v] of this.trainable) out[k] = Float32Array.from(v.dataSync());
    return out;
  }

  importTrainable(weights: Record<string, Float32Array>): void {
    for (const [k, v] of this.trainable) {
      const w = weights[k];
      if (!w) throw new ModelError("E_WEIGHTS", `importTrainable: missing ${k}`);
      if (w.length !== v.size)
        throw new ModelError("E_WEIGHTS", `importTrainable: ${k} has ${w.length} values, expected ${v.size}`);
    }
    for (const k of Object.keys(weights))
      if (!this.trainable.has(k))
        throw new ModelError("E_WEIGHTS", `importTrainable: unknown parameter ${k}`);
    for (const [k, v] of this.trainable) {
      const t = tf.tensor(weights[k]!, v.shape, "float32");
      v.assign(t);
      t.dispose();
    }
  }

  dispose(): void {
    for (const v of this.trainable.values()) v.dispose();
    this.trainable.clear();
  }
}

export function mean(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v;
  return x.length ? s / x.length : 0;
}
