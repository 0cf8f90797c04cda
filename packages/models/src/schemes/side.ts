/**
 * Ladder side tuning (LST, Sung et al. 2022), the memory-efficient scheme of DP-MemArc.
 *
 *   s_0 = down_0(h_0)
 *   s_i = d_i + σ(α_i/τ)·(SideBlock_i(s_{i−1}) − d_i),   d_i = down_i(h_i),   i = 1..L
 *   out = final(h_L + up(final_side(s_L)))  → classifier / tied LM head
 * with h_i the frozen backbone's hidden states, side blocks of width d/r that are pruned copies of
 * the backbone's own blocks (same architecture: pre-LN GPT-2 or post-LN BERT), τ = 0.1, and `final`
 * the backbone's last step (GPT-2: ln_f, so final_side is a pruned ln_f; BERT: identity).
 *
 * The backbone runs forward only, outside the tape (`computeSideFeatures`), so none of its
 * activations are kept; the trainer can also pass precomputed `batch.features`.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackboneModel } from "../core/backbone.js";
import type { Tracer } from "../core/tracer.js";
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

  constructor(backbone: BackboneModel, opts: SideOptions) {
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
    for (const name of backbone.finalParams)
      this.addTrainable(`side.${name}`, tf.gather(backbone.get(name), S));
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
    const bb = this.backbone;
    const h = batch.features!.hidden;
    if (h.length !== c.nLayer + 1)
      throw new Error(`side features: expected ${c.nLayer + 1} hidden states, got ${h.length}`);
    const bias = bb.attentionBias(batch.attentionMask);
    // The backbone's states are constants of the step: no gradient is formed for them.
    for (const x of h) tr.markConstant(x);
    let s = tr.linear(h[0]!, "side.down.0.weight", "side.down.0.bias");
    for (let i = 1; i <= c.nLayer; i++) {
      const ref = { prefix: `side.h.${i - 1}`, nHead: this.plan.heads };
      const up = bb.block(tr, s, ref, bias, 1000 + i);
      const d = tr.linear(h[i]!, `side.down.${i}.weight`, `side.down.${i}.bias`);
      s = tr.gate(up, d, `side.gate.${i}`, this.temperature);
    }
    const z = tr.linear(bb.final(tr, s, "side."), "side.up.weight", "side.up.bias");
    bias.dispose();
    return bb.final(tr, tf.add(h[c.nLayer]!, z) as tf.Tensor3D);
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
