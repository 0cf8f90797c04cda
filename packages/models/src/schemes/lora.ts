/**
 * DP-LoRA: W x + (α/r)·B A x on the attention projections (GPT-2: c_attn, c_proj; BERT: query, key,
 * value, output.dense — the backbone's block layout names them) and optionally the MLP's two.
 * A ~ N(0, 1/Din) (seeded), B = 0, so training starts at the backbone's function.
 * Book-keeping runs on the two factors as two linear sites (x → xA, and (α/r)xA → ·B).
 */
import * as tf from "@tensorflow/tfjs";
import type { BackboneModel } from "../core/backbone.js";
import type { Tracer } from "../core/tracer.js";
import { backboneFinal } from "./backbone-path.js";
import { BaseScheme } from "./base.js";
import type { Batch, SchemeOptions } from "./types.js";

export interface LoraOptions extends SchemeOptions {
  rank?: number;
  alpha?: number;
  /** Also adapt the MLP projections (default false). */
  mlp?: boolean;
}

export class LoraScheme extends BaseScheme {
  readonly kind = "lora" as const;
  readonly rank: number;

  constructor(backbone: BackboneModel, opts: LoraOptions) {
    super(backbone, opts);
    const r = opts.rank ?? 8;
    this.rank = r;
    this.loraScale = (opts.alpha ?? 2 * r) / r;
    const seed = opts.initSeed ?? 1;
    const c = backbone.config;
    const l = backbone.blockLayout;
    const targets = [
      ...l.attnIn.map((p) => p.weight),
      l.attnOut.weight,
      ...(opts.mlp ? [l.mlpIn.weight, l.mlpOut.weight] : []),
    ];
    let k = 0;
    for (let i = 0; i < c.nLayer; i++) {
      for (const t of targets) {
        const name = `${backbone.blockRef(i).prefix}.${t}`;
        const [din, dout] = backbone.get(name).shape as [number, number];
        this.addTrainable(
          `${name}.lora_A`,
          tf.randomNormal([din, r], 0, 1 / Math.sqrt(din), "float32", seed * 7919 + k++),
        );
        this.addTrainable(`${name}.lora_B`, tf.zeros([r, dout]));
      }
    }
    this.addClassifier(c.nEmbd, seed);
  }

  protected hiddenForHead(tr: Tracer, batch: Batch): tf.Tensor3D {
    return backboneFinal(tr, this.backbone, batch);
  }
}
