/**
 * The backbone interface: everything a fine-tuning scheme (full, lora, side, reversible) needs of a
 * pretrained transformer, so schemes depend on this file and never on one architecture. GPT-2
 * (causal, pre-LN) and BERT (bidirectional, post-LN) implement it.
 *
 * The network is h_0 = embed(ids); h_{i+1} = block_i(h_i); out = final(h_L), where every step runs
 * through a Tracer (plain autodiff or the book-keeping probe), so the same code serves inference,
 * training and the DP backward. Parameter names are the Hugging Face names (without the model
 * prefix) and every linear weight is stored [in, out], so `tracer.linear(x, W)` is x·W for both.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Tracer } from "./tracer.js";

/** config.json's model_type; "roberta" is BERT's network with RoBERTa's files (bert/config.ts). */
export type Architecture = "gpt2" | "bert" | "roberta";

/** The shape of a backbone as schemes see it (GPT2Config is exactly this; BertConfig adds to it). */
export interface BackboneConfig {
  /** Transformer blocks L. */
  nLayer: number;
  /** Residual width d. */
  nEmbd: number;
  nHead: number;
  /** Longest sequence (learned absolute positions). */
  nPositions: number;
  vocabSize: number;
  layerNormEps: number;
}

export type ParamMap = Map<string, tf.Tensor>;

/** A linear map's parameter names (weight [in, out], bias [out]). */
export interface LinearNames {
  weight: string;
  bias: string;
}

/**
 * Where a block's weights sit, by role, relative to the block's prefix. Structured pruning of the
 * side network and LoRA's targets read it; the block function does not need it.
 */
export interface BlockLayout {
  /**
   * Attention input projections [d, parts·d]: GPT-2's fused c_attn holds q, k and v (parts 3), BERT
   * has one projection each (parts 1). Columns are head-major within each part.
   */
  attnIn: (LinearNames & { parts: number })[];
  /** Attention output projection [d, d] (rows head-major). */
  attnOut: LinearNames;
  /** MLP input [d, inner] and output [inner, d]. */
  mlpIn: LinearNames;
  mlpOut: LinearNames;
  /** LayerNorm prefixes (`.weight`/`.bias` of width d) inside the block. */
  norms: string[];
}

/** Which parameters a block runs on: the backbone's own block i, or a (narrower) side copy. */
export interface BlockRef {
  prefix: string;
  nHead: number;
}

export interface ForwardOutput {
  /** h_0 (embeddings) … h_L (last block output, before `final`); only when asked. */
  hidden?: tf.Tensor3D[];
  /** final(h_L) [B,T,D]: the states the heads read. */
  final: tf.Tensor3D;
}

export interface BackboneModel {
  readonly architecture: Architecture;
  readonly config: BackboneConfig;
  /**
   * Causal attention (GPT-2). Only a causal backbone defines the next-token objective "lm"; a
   * bidirectional one (BERT) sees every token, so predicting the next one would be trivial.
   */
  readonly causal: boolean;
  /** The token-embedding table ([vocab, d]); also the tied next-token head when causal. */
  readonly tokenTable: string;
  /** Frozen weights by name. */
  readonly params: ParamMap;
  get(name: string): tf.Tensor;

  /** Block i's parameters: `{ prefix: blockPrefix(i), nHead: config.nHead }`. */
  blockRef(i: number): BlockRef;
  readonly blockLayout: BlockLayout;
  /** Parameters of `final` (residual-width vectors, e.g. GPT-2's ln_f); none for BERT. */
  readonly finalParams: readonly string[];

  /** Additive attention bias broadcastable to [B,H,T,T]: 0 where query t may see key s, else -1e9. */
  attentionBias(mask: tf.Tensor2D): tf.Tensor4D;
  /** h_0 from int32 ids [B,T] (right-padded). */
  embed(tr: Tracer, ids: tf.Tensor2D): tf.Tensor3D;
  /** One block on `ref`'s parameters; `dropKey` seeds its replayable dropout masks. */
  block(tr: Tracer, x: tf.Tensor3D, ref: BlockRef, bias: tf.Tensor4D, dropKey: number): tf.Tensor3D;
  /**
   * block(x) − x: the residual branch the reversible coupling adds. For pre-LN GPT-2 it is the sum
   * of the attention and MLP branches; for post-LN BERT it is defined as layer(x) − x.
   */
  blockResidual(tr: Tracer, x: tf.Tensor3D, ref: BlockRef, bias: tf.Tensor4D, dropKey: number): tf.Tensor3D;
  /**
   * The step after the last block on parameters `${prefix}…` (GPT-2: LayerNorm ln_f; BERT: identity,
   * returning `h` itself). The side network applies it, pruned, to its own output (prefix "side.").
   */
  final(tr: Tracer, h: tf.Tensor3D, prefix?: string): tf.Tensor3D;

  /** A plain tracer over the frozen weights. */
  tracer(): Tracer;
  /**
   * Inference forward (no gradients). ids int32 [B,T]; mask float32 [B,T] (1 = token, 0 = right
   * padding). Returns final states, and h_0 … h_L when `hidden`.
   */
  forward(ids: tf.Tensor2D, mask: tf.Tensor2D, opts?: { hidden?: boolean }): ForwardOutput;
  dispose(): void;
}
