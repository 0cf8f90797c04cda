/** The GPT-2 backbone: embeddings → pre-LN blocks → final LayerNorm; tied LM head. */
import * as tf from "@tensorflow/tfjs";
import { attentionBias } from "../core/attention.js";
import type { BlockLayout, BlockRef, ParamMap } from "../core/backbone.js";
import { BackboneBase } from "../core/backbone-base.js";
import type { Tracer } from "../core/tracer.js";
import { type BlockOptions, block, blockResidual } from "./block.js";
import { type GPT2Config, validateConfig } from "./config.js";
import { gpt2ParamShapes, randomGPT2Params } from "./params.js";

const LAYOUT: BlockLayout = {
  attnIn: [{ weight: "attn.c_attn.weight", bias: "attn.c_attn.bias", parts: 3 }],
  attnOut: { weight: "attn.c_proj.weight", bias: "attn.c_proj.bias" },
  mlpIn: { weight: "mlp.c_fc.weight", bias: "mlp.c_fc.bias" },
  mlpOut: { weight: "mlp.c_proj.weight", bias: "mlp.c_proj.bias" },
  norms: ["ln_1", "ln_2"],
};

export class GPT2 extends BackboneBase<GPT2Config> {
  readonly architecture = "gpt2" as const;
  readonly causal = true;
  readonly tokenTable = "wte.weight";
  readonly blockLayout = LAYOUT;
  readonly finalParams = ["ln_f.weight", "ln_f.bias"] as const;

  constructor(config: GPT2Config, params: ParamMap) {
    super(validateConfig(config), params, gpt2ParamShapes(config));
  }

  static random(config: GPT2Config, seed = 0, perturbNorms = false): GPT2 {
    return new GPT2(config, randomGPT2Params(validateConfig(config), seed, perturbNorms));
  }

  blockPrefix(i: number): string {
    return `h.${i}`;
  }

  attentionBias(mask: tf.Tensor2D): tf.Tensor4D {
    return attentionBias(mask, true);
  }

  embed(tr: Tracer, ids: tf.Tensor2D): tf.Tensor3D {
    return tr.embedInput(ids, "wte.weight", "wpe.weight");
  }

  block(tr: Tracer, x: tf.Tensor3D, ref: BlockRef, bias: tf.Tensor4D, dropKey: number): tf.Tensor3D {
    return block(tr, x, this.blockOptions(ref, bias, dropKey));
  }

  blockResidual(tr: Tracer, x: tf.Tensor3D, ref: BlockRef, bias: tf.Tensor4D, dropKey: number): tf.Tensor3D {
    return blockResidual(tr, x, this.blockOptions(ref, bias, dropKey));
  }

  private blockOptions(ref: BlockRef, bias: tf.Tensor4D, dropKey: number): BlockOptions {
    return { prefix: ref.prefix, nHead: ref.nHead, eps: this.config.layerNormEps, bias, dropKey };
  }

  final(tr: Tracer, h: tf.Tensor3D, prefix = ""): tf.Tensor3D {
    return tr.layerNorm(h, `${prefix}ln_f`, this.config.layerNormEps);
  }

  /** LM logits [B,T,V] through the tied head. */
  logits(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor3D {
    const { final } = this.forward(ids, mask);
    const out = tf.tidy(() => this.tracer().tiedHead(final, this.tokenTable));
    final.dispose();
    return out;
  }
}
