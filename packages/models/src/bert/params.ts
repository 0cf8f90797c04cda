/**
 * BERT parameter names — Hugging Face BertModel's, without a "bert." prefix — and shapes. Linear
 * weights are stored here [in, out] (x·W, like GPT-2's Conv1D); torch's nn.Linear files hold
 * [out, in], so the loader transposes them (`isLinearWeight`). Seeded random init (N(0, 0.02),
 * BERT's initializer_range) is for tests and reproducible experiments, not privacy.
 */
import * as tf from "@tensorflow/tfjs";
import type { ParamMap } from "../core/backbone.js";
import type { BertConfig } from "./config.js";

export const BERT_EMBEDDINGS = {
  word: "embeddings.word_embeddings.weight",
  position: "embeddings.position_embeddings.weight",
  tokenType: "embeddings.token_type_embeddings.weight",
  norm: "embeddings.LayerNorm",
} as const;

export function bertLayerShapes(c: BertConfig, prefix: string): [string, number[]][] {
  const d = c.nEmbd;
  const lin = (name: string, din: number, dout: number): [string, number[]][] => [
    [`${prefix}.${name}.weight`, [din, dout]],
    [`${prefix}.${name}.bias`, [dout]],
  ];
  const ln = (name: string): [string, number[]][] => [
    [`${prefix}.${name}.weight`, [d]],
    [`${prefix}.${name}.bias`, [d]],
  ];
  return [
    ...lin("attention.self.query", d, d),
    ...lin("attention.self.key", d, d),
    ...lin("attention.self.value", d, d),
    ...lin("attention.output.dense", d, d),
    ...ln("attention.output.LayerNorm"),
    ...lin("intermediate.dense", d, c.nInner),
    ...lin("output.dense", c.nInner, d),
    ...ln("output.LayerNorm"),
  ];
}

export function bertParamShapes(c: BertConfig): [string, number[]][] {
  const out: [string, number[]][] = [
    [BERT_EMBEDDINGS.word, [c.vocabSize, c.nEmbd]],
    [BERT_EMBEDDINGS.position, [c.nPositions, c.nEmbd]],
    [BERT_EMBEDDINGS.tokenType, [c.typeVocabSize, c.nEmbd]],
    [`${BERT_EMBEDDINGS.norm}.weight`, [c.nEmbd]],
    [`${BERT_EMBEDDINGS.norm}.bias`, [c.nEmbd]],
  ];
  for (let i = 0; i < c.nLayer; i++) out.push(...bertLayerShapes(c, `encoder.layer.${i}`));
  return out;
}

/** nn.Linear weights: [out, in] in Hugging Face files, [in, out] here. */
export function isLinearWeight(name: string): boolean {
  return /^encoder\.layer\.\d+\.(attention\.(self\.(query|key|value)|output\.dense)|(intermediate|output)\.dense)\.weight$/.test(
    name,
  );
}

/**
 * Seeded random BERT weights. `perturbNorms` gives LayerNorm gains/biases and linear biases small
 * random values too (instead of 1/0), so tests exercise every parameter.
 */
export function randomBertParams(c: BertConfig, seed: number, perturbNorms = false): ParamMap {
  const m: ParamMap = new Map();
  let k = seed * 1000;
  for (const [name, shape] of bertParamShapes(c)) {
    k++;
    const isLn = name.includes("LayerNorm");
    const isBias = name.endsWith(".bias");
    let t: tf.Tensor;
    if (isLn && !isBias)
      t = perturbNorms ? tf.add(1, tf.randomNormal(shape, 0, 0.1, "float32", k)) : tf.ones(shape);
    else if (isBias) t = perturbNorms ? tf.randomNormal(shape, 0, 0.02, "float32", k) : tf.zeros(shape);
    else t = tf.randomNormal(shape, 0, 0.02, "float32", k);
    m.set(name, t);
  }
  return m;
}
