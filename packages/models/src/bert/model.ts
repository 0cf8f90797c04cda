/**
 * The BERT encoder as a backbone (e.g. all-MiniLM-L6-v2; RoBERTa too, config.ts): embeddings with LayerNorm → post-LN
 * bidirectional layers; the last layer's output is the final state (no final LayerNorm, no LM head:
 * BERT is not a causal language model, so schemes reject the "lm" objective on it).
 */
import * as tf from "@tensorflow/tfjs";
import { attentionBias } from "../core/attention.js";
import type { BlockLayout, BlockRef, ParamMap } from "../core/backbone.js";
import { BackboneBase } from "../core/backbone-base.js";
import type { Tracer } from "../core/tracer.js";
import { type BertConfig, type BertFamily, validateBertConfig } from "./config.js";
import { bertEmbeddings, bertLayer } from "./layer.js";
import { BERT_EMBEDDINGS, bertParamShapes, randomBertParams } from "./params.js";

const LAYOUT: BlockLayout = {
  attnIn: ["query", "key", "value"].map((n) => ({
    weight: `attention.self.${n}.weight`,
    bias: `attention.self.${n}.bias`,
    parts: 1,
  })),
  attnOut: { weight: "attention.output.dense.weight", bias: "attention.output.dense.bias" },
  mlpIn: { weight: "intermediate.dense.weight", bias: "intermediate.dense.bias" },
  mlpOut: { weight: "output.dense.weight", bias: "output.dense.bias" },
  norms: ["attention.output.LayerNorm", "output.LayerNorm"],
};

export class Bert extends BackboneBase<BertConfig> {
  /** "roberta" for RoBERTa's files: the same network (config.ts). */
  readonly architecture: BertFamily;
  readonly causal = false;
  readonly tokenTable = BERT_EMBEDDINGS.word;
  readonly blockLayout = LAYOUT;
  readonly finalParams = [] as const;

  constructor(config: BertConfig, params: ParamMap) {
    super(validateBertConfig(config), params, bertParamShapes(config));
    this.architecture = config.family ?? "bert";
  }

  static random(config: BertConfig, seed = 0, perturbNorms = false): Bert {
    return new Bert(config, randomBertParams(validateBertConfig(config), seed, perturbNorms));
  }

  blockPrefix(i: number): string {
    return `encoder.layer.${i}`;
  }

  attentionBias(mask: tf.Tensor2D): tf.Tensor4D {
    return attentionBias(mask, false);
  }

  embed(tr: Tracer, ids: tf.Tensor2D): tf.Tensor3D {
    return bertEmbeddings(tr, ids, this.config.layerNormEps);
  }

  block(tr: Tracer, x: tf.Tensor3D, ref: BlockRef, bias: tf.Tensor4D, dropKey: number): tf.Tensor3D {
    return bertLayer(tr, x, ref.prefix, ref.nHead, this.config.layerNormEps, bias, dropKey);
  }

  /** Post-LN has no additive branch inside the layer, so the residual is defined as layer(x) − x. */
  blockResidual(tr: Tracer, x: tf.Tensor3D, ref: BlockRef, bias: tf.Tensor4D, dropKey: number): tf.Tensor3D {
    return tf.sub(this.block(tr, x, ref, bias, dropKey), x) as tf.Tensor3D;
  }

  /** The last layer already ends in a LayerNorm: nothing follows it. */
  final(_tr: Tracer, h: tf.Tensor3D): tf.Tensor3D {
    return h;
  }
}
