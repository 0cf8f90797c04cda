/** Moving trainable weights between tfjs variables and the wire's named flat Float32Arrays. */
import type { Params } from "@memarc/train";
import * as tf from "@tensorflow/tfjs";
import { type Weights, WeightsMismatchError } from "../weights.js";

export function readVariables(params: Params): Weights {
  const out: Weights = {};
  for (const [name, v] of params) out[name] = Float32Array.from(v.dataSync() as Float32Array);
  return out;
}

/** Assign every variable from `w`; names and sizes must match exactly (checked before any change). */
export function assignVariables(params: Params, w: Weights): void {
  for (const k of Object.keys(w))
    if (!params.has(k)) throw new WeightsMismatchError(`weights: unknown tensor "${k}"`);
  for (const [name, v] of params) {
    const a = w[name];
    if (!a) throw new WeightsMismatchError(`weights: missing tensor "${name}"`);
    if (a.length !== v.size)
      throw new WeightsMismatchError(`weights: "${name}" has ${a.length} values, expected ${v.size}`);
  }
  for (const [name, v] of params) {
    const t = tf.tensor(w[name]!, v.shape, "float32");
    v.assign(t);
    t.dispose();
  }
}
