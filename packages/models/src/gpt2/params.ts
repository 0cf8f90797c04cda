/**
 * GPT-2 parameter names (Hugging Face layout without the "transformer." prefix; Conv1D weights
 * stored [in, out]) and seeded random initialisation (N(0, 0.02), GPT-2's scheme; residual output
 * projections scaled by 1/√(2·nLayer)). The seed is for reproducible experiments, not privacy.
 */
import * as tf from "@tensorflow/tfjs";
import type { ParamMap } from "../core/backbone.js";
import type { GPT2Config } from "./config.js";

export function layerParamShapes(d: number, prefix: string): [string, number[]][] {
  return [
    [`${prefix}.ln_1.weight`, [d]],
    [`${prefix}.ln_1.bias`, [d]],
    [`${prefix}.attn.c_attn.weight`, [d, 3 * d]],
    [`${prefix}.attn.c_attn.bias`, [3 * d]],
    [`${prefix}.attn.c_proj.weight`, [d, d]],
    [`${prefix}.attn.c_proj.bias`, [d]],
    [`${prefix}.ln_2.weight`, [d]],
    [`${prefix}.ln_2.bias`, [d]],
    [`${prefix}.mlp.c_fc.weight`, [d, 4 * d]],
    [`${prefix}.mlp.c_fc.bias`, [4 * d]],
    [`${prefix}.mlp.c_proj.weight`, [4 * d, d]],
    [`${prefix}.mlp.c_proj.bias`, [d]],
  ];
}

export function gpt2ParamShapes(c: GPT2Config): [string, number[]][] {
  const out: [string, number[]][] = [
    ["wte.weight", [c.vocabSize, c.nEmbd]],
    ["wpe.weight", [c.nPositions, c.nEmbd]],
  ];
  for (let i = 0; i < c.nLayer; i++) out.push(...layerParamShapes(c.nEmbd, `h.${i}`));
  out.push(["ln_f.weight", [c.nEmbd]], ["ln_f.bias", [c.nEmbd]]);
  return out;
}

/**
 * Seeded random GPT-2 weights. `perturbNorms` gives LayerNorm gains/biases and linear biases small
 * random values too (instead of 1/0), so tests exercise every parameter.
 */
export function randomGPT2Params(c: GPT2Config, seed: number, perturbNorms = false): ParamMap {
  const m: ParamMap = new Map();
  let k = seed * 1000;
  for (const [name, shape] of gpt2ParamShapes(c)) {
    k++;
    const isLn = /ln_\d|ln_f/.test(name);
    const isBias = name.endsWith(".bias");
    let t: tf.Tensor;
    if (isLn && !isBias)
      t = perturbNorms ? tf.add(1, tf.randomNormal(shape, 0, 0.1, "float32", k)) : tf.ones(shape);
    else if (isBias) t = perturbNorms ? tf.randomNormal(shape, 0, 0.02, "float32", k) : tf.zeros(shape);
    else {
      const std = name.endsWith("c_proj.weight") ? 0.02 / Math.sqrt(2 * c.nLayer) : 0.02;
      t = tf.randomNormal(shape, 0, std, "float32", k);
    }
    m.set(name, t);
  }
  return m;
}
