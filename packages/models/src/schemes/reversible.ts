/**
 * Reversible adapters (MEFT-style, Liao et al. 2023): two streams per layer i,
 *   y1 = λ·x1 + F_i(x2),   y2 = β·x2 + G_i(y1)
 * with input x1 = x2 = h_0 and output final(y1 of the last layer) (GPT-2: ln_f; BERT: identity).
 * Adapters are bottleneck MLPs up(gelu(down(x))) with up = 0 at init. Two couplings (see `coupling`):
 * - "meft1" (MEFT's choice): F = frozen block + adapter, G = adapter, λ = 0.1, β = 1, streams swap.
 *   Near the backbone at init, but the inverse divides by λ every layer: rounding grows ~(1/λ)^L.
 * - "leapfrog" (default): λ = β = 1, F = G = frozen residual branch R_i + own adapter, no swap:
 *   y1 = x1 + R_i(x2), y2 = x2 + R_i(y1). From x1 = x2 = h_0, y1 = h_1 exactly and y2 ≈ h_1, so the
 *   y1 stream follows the backbone up to R_i(h_i) − R_i(h_{i−1}); the map is volume-preserving,
 *   so reconstruction stays accurate at depth (costs a second frozen block evaluation per layer).
 *   This needs R_i to be a small residual branch, as in pre-LN GPT-2. For post-LN BERT, R_i =
 *   layer(x) − x is not small: the streams drift from the backbone (measured on MiniLM: 37× relative
 *   deviation at init) and rounding grows ~10× per layer in the inverse (see the README).
 *
 * Because each layer is invertible — x2 = (y2 − G(y1))/β, x1 = (y1 − F(x2))/λ — the backward
 * keeps only the top outputs and rebuilds each layer's inputs on the way down (explicit loop; each
 * layer's vector-Jacobian product is taken at the top level with that layer alone on the tape), so
 * activation memory does not grow with depth. Dropout masks are replayed from (step, layer) seeds.
 *
 * DP, in ONE reconstructing sweep: the clip factors are only known after the last layer, and
 * holding every layer's (a, g) until then (plain book-keeping) would make memory grow with depth
 * like ordinary backprop. Instead each layer's sites are reduced, as soon as the sweep leaves that
 * layer, to the per-example gradients of their (tiny) adapter parameters — B·(2·D·r + r + D) floats
 * per adapter, ~270 KB at D = 128, r = 16, B = 16, independent of T — which give both the
 * per-example norms and, once c_i = min(1, C/‖g_i‖) is known, the clipped sum Σ_i c_i g_i (one
 * [1,B]·[B,n] product per parameter). A site is kept as (a, g) only when that is smaller (see
 * `DeferredClip`, reversible-clip.ts). This store grows with the number of adapters, i.e. with
 * depth, but it is far smaller than one layer's activations; the activations themselves still do
 * not grow with depth. (An earlier version ran the sweep twice — norms, then the c-reweighted
 * backward — to keep O(1)-in-depth state, at ~1.8× the non-DP step time.)
 */
import * as tf from "@tensorflow/tfjs";
import { geluTanh } from "../core/activations.js";
import type { BackboneModel } from "../core/backbone.js";
import { accumulate, clipFactors, siteWeightedSum } from "../core/bookkeeping.js";
import { ModelError } from "../core/errors.js";
import { classifyLoss, lmLoss } from "../core/losses.js";
import { disposeSites, type Site } from "../core/sites.js";
import { Tracer } from "../core/tracer.js";
import { BaseScheme, mean } from "./base.js";
import { DeferredClip } from "./reversible-clip.js";
import type {
  Batch,
  ClippedGradients,
  Objective,
  PlainGradients,
  SchemeOptions,
  StepOptions,
} from "./types.js";

export interface ReversibleOptions extends SchemeOptions {
  /** Adapter bottleneck width (default 16). */
  adapterDim?: number;
  /** Scale of x1 in y1 = λ·x1 + F(x2) (default 0.1, MEFT1). Reconstruction error grows like (1/λ)^depth. */
  lambda?: number;
  /** Scale of x2 in y2 = β·x2 + G(y1) (default 1). */
  beta?: number;
  /**
   * "leapfrog" (default): λ = β = 1, F_i = R_i + adapter, G_i = R_i + adapter where R_i = block_i − id
   * is the frozen residual branch — volume-preserving, so reconstruction stays exact to ~1e-6 over
   * 12 layers, and y1 follows the backbone trajectory up to R_i(h_i) − R_i(h_{i−1}).
   * "meft1": F_i = block_i + adapter, G_i = adapter, λ small, with stream swap (MEFT's choice);
   * its inverse amplifies rounding by ~1/λ per layer (measured: 1.6e4 relative after 12 layers at λ=0.1).
   */
  coupling?: "leapfrog" | "meft1";
}

type Streams = [tf.Tensor3D, tf.Tensor3D];

export class ReversibleScheme extends BaseScheme {
  readonly kind = "reversible" as const;
  readonly lambda: number;
  readonly beta: number;
  readonly coupling: "leapfrog" | "meft1";

  constructor(backbone: BackboneModel, opts: ReversibleOptions) {
    super(backbone, opts);
    const c = backbone.config;
    const r = opts.adapterDim ?? 16;
    this.coupling = opts.coupling ?? "leapfrog";
    this.lambda = opts.lambda ?? (this.coupling === "meft1" ? 0.1 : 1);
    this.beta = opts.beta ?? 1;
    if (!(this.lambda > 0) || !(this.beta > 0))
      throw new ModelError("E_CONFIG", "lambda and beta must be > 0");
    const seed = opts.initSeed ?? 1;
    let k = 0;
    for (let i = 0; i < c.nLayer; i++) {
      // The last layer's G would not reach the output (only y1 is read out), so it has none.
      for (const a of i === c.nLayer - 1 ? ["fa"] : ["fa", "ga"]) {
        const p = `rev.${i}.${a}`;
        this.addTrainable(
          `${p}.down.weight`,
          tf.randomNormal([c.nEmbd, r], 0, 1 / Math.sqrt(c.nEmbd), "float32", seed * 104729 + k++),
        );
        this.addTrainable(`${p}.down.bias`, tf.zeros([r]));
        this.addTrainable(`${p}.up.weight`, tf.zeros([r, c.nEmbd]));
        this.addTrainable(`${p}.up.bias`, tf.zeros([c.nEmbd]));
      }
    }
    this.addClassifier(c.nEmbd, seed);
  }

  private adapter(tr: Tracer, x: tf.Tensor3D, p: string, key: number): tf.Tensor3D {
    const h = geluTanh(tr.linear(x, `${p}.down.weight`, `${p}.down.bias`)) as tf.Tensor3D;
    return tr.dropout(tr.linear(h, `${p}.up.weight`, `${p}.up.bias`), key);
  }

  F(tr: Tracer, i: number, x2: tf.Tensor3D, bias: tf.Tensor4D): tf.Tensor3D {
    const bb = this.backbone;
    const frozen =
      this.coupling === "meft1"
        ? bb.block(tr, x2, bb.blockRef(i), bias, i)
        : bb.blockResidual(tr, x2, bb.blockRef(i), bias, 2 * i);
    return tf.add(frozen, this.adapter(tr, x2, `rev.${i}.fa`, 10_000 + 2 * i)) as tf.Tensor3D;
  }

  G(tr: Tracer, i: number, y1: tf.Tensor3D, bias: tf.Tensor4D): tf.Tensor3D | null {
    const c = this.config;
    if (i === c.nLayer - 1) return null;
    const a = this.adapter(tr, y1, `rev.${i}.ga`, 10_001 + 2 * i);
    if (this.coupling === "meft1") return a;
    const bb = this.backbone;
    return tf.add(bb.blockResidual(tr, y1, bb.blockRef(i), bias, 2 * i + 1), a) as tf.Tensor3D;
  }

  /** Streams entering layer i+1 from layer i's outputs: MEFT swaps them, leapfrog does not. */
  next(y1: tf.Tensor3D, y2: tf.Tensor3D): Streams {
    return this.coupling === "meft1" ? [y2, y1] : [y1, y2];
  }

  /** One reversible layer (before the swap). */
  layer(tr: Tracer, i: number, x1: tf.Tensor3D, x2: tf.Tensor3D, bias: tf.Tensor4D): Streams {
    const y1 = tf.add(tf.mul(this.lambda, x1), this.F(tr, i, x2, bias)) as tf.Tensor3D;
    const g = this.G(tr, i, y1, bias);
    const bx2 = tf.mul(this.beta, x2) as tf.Tensor3D;
    const y2 = g ? (tf.add(bx2, g) as tf.Tensor3D) : bx2;
    return [y1, y2];
  }

  /** Inverse of `layer`: recover (x1, x2) from (y1, y2) with the same dropout masks. */
  inverse(tr: Tracer, i: number, y1: tf.Tensor3D, y2: tf.Tensor3D, bias: tf.Tensor4D): Streams {
    return tf.tidy(() => {
      const g = this.G(tr, i, y1, bias);
      const x2 = tf.div(g ? tf.sub(y2, g) : y2, this.beta) as tf.Tensor3D;
      const x1 = tf.div(tf.sub(y1, this.F(tr, i, x2, bias)), this.lambda) as tf.Tensor3D;
      return [x1, x2] as Streams;
    });
  }

  protected hiddenForHead(tr: Tracer, batch: Batch): tf.Tensor3D {
    const bb = this.backbone;
    const bias = bb.attentionBias(batch.attentionMask);
    const h0 = bb.embed(tr, batch.inputIds);
    let [x1, x2] = [h0, h0];
    let out = h0;
    for (let i = 0; i < this.config.nLayer; i++) {
      const [y1, y2] = this.layer(tr, i, x1, x2, bias);
      out = y1;
      [x1, x2] = this.next(y1, y2);
    }
    bias.dispose();
    return bb.final(tr, out);
  }

  private tracer(mode: "plain" | "probe", seed: number, probeSeed?: tf.Scalar): Tracer {
    return new Tracer(this.tracerOptions(mode, true, undefined, seed), probeSeed);
  }

  /** Forward without a tape, keeping only the current pair of streams. Returns the top (y1, y2). */
  forwardStreams(batch: Batch, seed: number, bias: tf.Tensor4D): Streams {
    const tr = this.tracer("plain", seed);
    const h0 = tf.tidy(() => this.backbone.embed(tr, batch.inputIds));
    let [x1, x2] = [h0, tf.clone(h0)];
    for (let i = 0; i < this.config.nLayer; i++) {
      const out = tf.tidy(() => this.layer(tr, i, x1, x2, bias));
      tf.dispose([x1, x2]);
      [x1, x2] = this.next(out[0], out[1]);
    }
    return this.next(x1, x2); // undo the last hand-over: (y1, y2) of the last layer
  }

  /** Head: loss and its gradient w.r.t. the top y1, plus the head's sites. */
  private top(batch: Batch, objective: Objective, y1: tf.Tensor3D, seed: number) {
    const s = tf.scalar(0);
    const tr = this.tracer("probe", seed, s);
    let kept: tf.Tensor1D | undefined;
    const { value, grads } = tf.valueAndGrads((s0: tf.Tensor, y: tf.Tensor) => {
      const h = this.backbone.final(tr, y as tf.Tensor3D);
      let l: tf.Tensor1D;
      if (objective === "classify") {
        if (!batch.labels) throw new ModelError("E_INPUT", 'objective "classify" needs batch.labels');
        l = classifyLoss(tr, h, batch.attentionMask, batch.labels);
      } else l = lmLoss(tr, h, batch.inputIds, batch.attentionMask, this.backbone.tokenTable);
      kept = tf.keep(tf.clone(l));
      // + 0·seed: the seed must be connected even when the head has no trainable site ("lm").
      return tf.add(tf.sum(l), tf.mul(0, s0)) as tf.Scalar;
    })([s, y1]);
    const dy1 = grads[1] as tf.Tensor3D;
    tf.dispose([value, grads[0]!, s]);
    const losses = kept!.dataSync() as Float32Array;
    kept!.dispose();
    return { sites: tr.sites, dy1, losses };
  }

  /**
   * Jacobianᵀ·dy of `fn` at `x`, taken at the top level with only `fn` on the tape. The recorded
   * sites are handed to `consume`, which owns (and must dispose) them.
   */
  private vjp(
    fn: (tr: Tracer, x: tf.Tensor3D) => tf.Tensor3D,
    x: tf.Tensor3D,
    dy: tf.Tensor3D,
    seed: number,
    consume: (sites: Site[]) => void,
  ): tf.Tensor3D {
    const s = tf.scalar(0);
    const tr = this.tracer("probe", seed, s);
    const { value, grads } = tf.valueAndGrads(
      (s0: tf.Tensor, a: tf.Tensor) =>
        tf.add(tf.sum(tf.mul(fn(tr, a as tf.Tensor3D), dy)), tf.mul(0, s0)) as tf.Scalar,
    )([s, x]);
    tf.dispose([value, grads[0]!, s]);
    try {
      consume(tr.sites);
    } catch (e) {
      tf.dispose(grads[1]!);
      throw e;
    }
    return grads[1] as tf.Tensor3D;
  }

  /**
   * Reconstructing backward from the top streams with output gradient dy1 (dy2 = 0); `consume`
   * receives (and owns) each layer's sites. Only one layer is ever on the tape.
   */
  private backward(
    top: Streams,
    dyTop: tf.Tensor3D,
    bias: tf.Tensor4D,
    seed: number,
    consume: (sites: Site[]) => void,
  ): void {
    const plain = this.tracer("plain", seed);
    let [y1, y2] = [tf.clone(top[0]), tf.clone(top[1])];
    let dy1 = tf.clone(dyTop);
    let dy2 = tf.zerosLike(dyTop);
    for (let i = this.config.nLayer - 1; i >= 0; i--) {
      const [x1, x2] = this.inverse(plain, i, y1, y2, bias);
      // y2 = β·x2 + G(y1): pull dy2 back through G alone (its tape holds one adapter/block).
      let dy1Total = dy1;
      if (i < this.config.nLayer - 1) {
        const g = this.vjp((tr, a) => this.G(tr, i, a, bias)!, y1, dy2, seed, consume);
        dy1Total = tf.add(dy1, g) as tf.Tensor3D;
        tf.dispose([g, dy1]);
      }
      // y1 = λ·x1 + F(x2): then through F alone, so only one frozen block is ever on the tape.
      const f = this.vjp((tr, b) => this.F(tr, i, b, bias), x2, dy1Total, seed, consume);
      const dx1 = tf.mul(this.lambda, dy1Total) as tf.Tensor3D;
      const dx2 = tf.tidy(() => tf.add(tf.mul(this.beta, dy2), f)) as tf.Tensor3D;
      tf.dispose([f, dy1Total, dy2, y1, y2]);
      // Layer i's inputs are layer i−1's outputs handed over by `next` (an involution).
      [y1, y2] = this.next(x1, x2);
      [dy1, dy2] = this.next(dx1, dx2);
    }
    tf.dispose([y1, y2, dy1, dy2]);
  }

  override clippedGradients(batch: Batch, opts: StepOptions): ClippedGradients {
    this.checkObjective(opts.objective);
    const seed = opts.dropoutSeed ?? this.step++;
    const bias = this.backbone.attentionBias(batch.attentionMask);
    const top = this.forwardStreams(batch, seed, bias);
    const head = this.top(batch, opts.objective, top[0], seed);
    const shapeOf = (n: string) => this.lookup()(n).shape;
    const store = new DeferredClip(batch.inputIds.shape[0], shapeOf);
    try {
      store.add(head.sites);
      // One sweep: each layer's sites are reduced to per-example adapter gradients and freed.
      this.backward(top, head.dy1, bias, seed, (sites) => store.add(sites));
      const sq = store.sqNorms();
      const c = clipFactors(sq, opts.clipNorm);
      const acc = new Map<string, tf.Tensor>();
      store.clippedSum(c, acc);
      const normT = tf.sqrt(sq);
      const norms = Float32Array.from(normT.dataSync());
      tf.dispose([normT, sq, c]);
      return { clippedSum: this.finish(acc), norms, loss: mean(head.losses) };
    } finally {
      store.dispose();
      tf.dispose([head.dy1, bias, ...top]);
    }
  }

  override gradients(batch: Batch, objective: Objective, dropoutSeed?: number): PlainGradients {
    this.checkObjective(objective);
    const seed = dropoutSeed ?? this.step++;
    const bias = this.backbone.attentionBias(batch.attentionMask);
    const top = this.forwardStreams(batch, seed, bias);
    const head = this.top(batch, objective, top[0], seed);
    const acc = new Map<string, tf.Tensor>();
    const shapeOf = (n: string) => this.lookup()(n).shape;
    for (const s of head.sites) accumulate(acc, siteWeightedSum(s, null, shapeOf));
    disposeSites(head.sites);
    this.backward(top, head.dy1, bias, seed, (sites) => {
      try {
        for (const s of sites) accumulate(acc, siteWeightedSum(s, null, shapeOf));
      } finally {
        disposeSites(sites);
      }
    });
    tf.dispose([head.dy1, bias, ...top]);
    return { grads: this.finish(acc), loss: mean(head.losses) };
  }
}
