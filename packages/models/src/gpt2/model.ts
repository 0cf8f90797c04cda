/** The GPT-2 backbone: embeddings → pre-LN blocks → final LayerNorm; tied LM head. */
import * as tf from "@tensorflow/tfjs";
import { ModelError } from "../core/errors.js";
import { Tracer } from "../core/tracer.js";
import { attentionBias, block } from "./block.js";
import { type GPT2Config, validateConfig } from "./config.js";
import { gpt2ParamShapes, type ParamMap, randomGPT2Params } from "./params.js";

export interface ForwardOutput {
  /** h_0 (embeddings) … h_L (last block output, before ln_f); only when asked. */
  hidden?: tf.Tensor3D[];
  /** ln_f(h_L) [B,T,D]. */
  final: tf.Tensor3D;
}

export class GPT2 {
  readonly config: GPT2Config;
  readonly params: ParamMap;

  constructor(config: GPT2Config, params: ParamMap) {
    this.config = validateConfig(config);
    for (const [name, shape] of gpt2ParamShapes(config)) {
      const t = params.get(name);
      if (!t) throw new ModelError("E_WEIGHTS", `missing parameter ${name}`);
      if (t.shape.join(",") !== shape.join(","))
        throw new ModelError("E_WEIGHTS", `parameter ${name} has shape [${t.shape}], expected [${shape}]`);
    }
    this.params = params;
  }

  static random(config: GPT2Config, seed = 0, perturbNorms = false): GPT2 {
    return new GPT2(config, randomGPT2Params(validateConfig(config), seed, perturbNorms));
  }

  /** A plain (inference) tracer over the backbone weights, all frozen. */
  tracer(): Tracer {
    return new Tracer({ mode: "plain", lookup: (n) => this.get(n), isTrainable: () => false });
  }

  get(name: string): tf.Tensor {
    const t = this.params.get(name);
    if (!t) throw new ModelError("E_WEIGHTS", `no parameter ${name}`);
    return t;
  }

  /**
   * Inference forward (no gradients). ids int32 [B,T]; mask float32 [B,T] (1 = token, 0 = right
   * padding). Each block runs in its own tidy so only the hidden states asked for survive.
   */
  forward(ids: tf.Tensor2D, mask: tf.Tensor2D, opts: { hidden?: boolean } = {}): ForwardOutput {
    const c = this.config;
    if (ids.shape[1] > c.nPositions)
      throw new ModelError("E_INPUT", `sequence length ${ids.shape[1]} exceeds nPositions ${c.nPositions}`);
    const tr = this.tracer();
    const bias = attentionBias(mask);
    const hidden: tf.Tensor3D[] = [];
    let h = tf.tidy(() => tr.embedInput(ids, "wte.weight", "wpe.weight"));
    for (let i = 0; i < c.nLayer; i++) {
      const prev = h;
      h = tf.tidy(() => block(tr, prev, `h.${i}`, c.nHead, c.layerNormEps, bias, i));
      if (opts.hidden) hidden.push(prev);
      else prev.dispose();
    }
    const final = tf.tidy(() => tr.layerNorm(h, "ln_f", c.layerNormEps));
    if (opts.hidden) hidden.push(h);
    else h.dispose();
    bias.dispose();
    return opts.hidden ? { hidden, final } : { final };
  }

  /** LM logits [B,T,V] through the tied head. */
  logits(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor3D {
    const { final } = this.forward(ids, mask);
    const out = tf.tidy(() => this.tracer().tiedHead(final, "wte.weight"));
    final.dispose();
    return out;
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
  }
}
