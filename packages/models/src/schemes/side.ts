/**
 * Ladder side tuning (LST, Sung et al. 2022), the memory-efficient scheme of DP-MemArc.
 *
 *   s_0 = down_0(h_0)
 *   s_i = d_i + σ(α_i/τ)·(SideBlock_i(s_{i−1}) − d_i),   d_i = down_i(h_i),   i = 1..L
 *   out = ln_f(h_L + up(ln_side(s_L)))  → classifier / tied LM head
 * with h_i the frozen backbone's hidden states, side blocks of width d/r, and τ = 0.1.
 *
 * The backbone runs forward only, outside the tape (`computeSideFeatures`), so none of its
 * activations are kept; the trainer can also pass precomputed `batch.features`.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tracer } from "../core/tracer.js";
import { attentionBias, block } from "../gpt2/block.js";
import type { GPT2 } from "../gpt2/model.js";
import { BaseScheme } from "./base.js";
import { computeSideFeatures, disposeSideFeatures, type SideFeatures } from "./side-features.js";
import { planSide, prunedBlock, type SidePlan, selectionMatrix } from "./side-init.js";
import type { Batch, Objective, SchemeOptions } from "./types.js";

export interface SideOptions extends SchemeOptions {
  /** Width reduction r: side width d/r (default 8). */
  reduction?: number;
  /** Gate temperature τ (default 0.1). */
  temperature?: number;
}

export class SideScheme extends BaseScheme {
  readonly kind = "side" as const;
  readonly plan: SidePlan;
  readonly temperature: number;

  constructor(backbone: GPT2, opts: SideOptions) {
    super(backbone, opts);
    const c = backbone.config;
    this.temperature = opts.temperature ?? 0.1;
    this.plan = planSide(backbone, opts.reduction ?? 8);
    const w = this.plan.width;
    const sel = selectionMatrix(c.nEmbd, this.plan.channels);
    for (let i = 0; i <= c.nLayer; i++) {
      this.addTrainable(`side.down.${i}.weight`, tf.clone(sel));
      this.addTrainable(`side.down.${i}.bias`, tf.zeros([w]));
      if (i > 0) this.addTrainable(`side.gate.${i}`, tf.zeros([1]));
    }
    sel.dispose();
    for (let i = 0; i < c.nLayer; i++) {
      for (const [k, t] of prunedBlock(backbone, i, this.plan)) this.addTrainable(`side.h.${i}.${k}`, t);
    }
    const S = tf.tensor1d(this.plan.channels, "int32");
    this.addTrainable("side.ln_f.weight", tf.gather(backbone.get("ln_f.weight"), S));
    this.addTrainable("side.ln_f.bias", tf.gather(backbone.get("ln_f.bias"), S));
    S.dispose();
    this.addTrainable("side.up.weight", tf.zeros([w, c.nEmbd]));
    this.addTrainable("side.up.bias", tf.zeros([c.nEmbd]));
    this.addClassifier(c.nEmbd, opts.initSeed ?? 1);
  }

  /** Frozen-backbone features for a batch (cache them across epochs: the backbone never changes). */
  sideFeatures(batch: Batch): SideFeatures {
    return computeSideFeatures(this.backbone, batch.inputIds, batch.attentionMask);
  }

  /** Runs `fn` with `batch.features` present, computing (then freeing) them outside any tape if absent. */
  private withFeatures<R>(batch: Batch, fn: (b: Batch) => R): R {
    if (batch.features) return fn(batch);
    const features = this.sideFeatures(batch);
    try {
      return fn({ ...batch, features });
    } finally {
      disposeSideFeatures(features);
    }
  }

  protected hiddenForHead(tr: Tracer, batch: Batch): tf.Tensor3D {
    const c = this.config;
    const h = batch.features!.hidden;
    if (h.length !== c.nLayer + 1)
      throw new Error(`side features: expected ${c.nLayer + 1} hidden states, got ${h.length}`);
    const bias = attentionBias(batch.attentionMask);
    let s = tr.linear(h[0]!, "side.down.0.weight", "side.down.0.bias");
    for (let i = 1; i <= c.nLayer; i++) {
      const up = block(tr, s, `side.h.${i - 1}`, this.plan.heads, c.layerNormEps, bias, 1000 + i);
      const d = tr.linear(h[i]!, `side.down.${i}.weight`, `side.down.${i}.bias`);
      s = tr.gate(up, d, `side.gate.${i}`, this.temperature);
    }
    const z = tr.linear(tr.layerNorm(s, "side.ln_f", c.layerNormEps), "side.up.weight", "side.up.bias");
    bias.dispose();
    return tr.layerNorm(tf.add(h[c.nLayer]!, z) as tf.Tensor3D, "ln_f", c.layerNormEps);
  }

  override perExampleLoss(batch: Batch, objective: Objective) {
    return this.withFeatures(batch, (b) => super.perExampleLoss(b, objective));
  }
  override classify(batch: Batch) {
    return this.withFeatures(batch, (b) => super.classify(b));
  }
  protected override probe(batch: Batch, objective: Objective, seed: number) {
    return this.withFeatures(batch, (b) => super.probe(b, objective, seed));
  }
}
