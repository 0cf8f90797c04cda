/**
 * Side-network initialisation by structured pruning of the backbone (LST): keep the d/r residual
 * channels, heads/head-dims and MLP neurons with the largest weight norms, and slice each backbone
 * block to that width. Downsamples start as the channel selection, so side states begin as pruned
 * copies of the backbone's; the upsample starts at zero so the model starts at the backbone.
 */
import * as tf from "@tensorflow/tfjs";
import type { GPT2 } from "../gpt2/model.js";

function topK(scores: Float32Array | number[], k: number): number[] {
  return [...scores.keys()]
    .sort((a, b) => scores[b]! - scores[a]! || a - b)
    .slice(0, k)
    .sort((a, b) => a - b);
}

const rowSq = (w: tf.Tensor) => tf.tidy(() => tf.sum(tf.square(w), 1).dataSync() as Float32Array);
const colSq = (w: tf.Tensor) => tf.tidy(() => tf.sum(tf.square(w), 0).dataSync() as Float32Array);

export interface SidePlan {
  width: number;
  heads: number;
  headDim: number;
  channels: number[];
}

export function planSide(bb: GPT2, reduction: number): SidePlan {
  const c = bb.config;
  const width = Math.max(1, Math.floor(c.nEmbd / reduction));
  const heads = Math.max(1, Math.round(c.nHead / reduction));
  if (width % heads !== 0) throw new Error(`side width ${width} not divisible by ${heads} side heads`);
  const headDim = width / heads;
  const imp = new Float64Array(c.nEmbd);
  for (let i = 0; i < c.nLayer; i++) {
    const p = `h.${i}`;
    for (const w of [`${p}.attn.c_attn.weight`, `${p}.mlp.c_fc.weight`])
      for (const [j, v] of rowSq(bb.get(w)).entries()) imp[j]! += v;
    for (const w of [`${p}.attn.c_proj.weight`, `${p}.mlp.c_proj.weight`])
      for (const [j, v] of colSq(bb.get(w)).entries()) imp[j]! += v;
  }
  return { width, heads, headDim, channels: topK(Array.from(imp), width) };
}

/** Sliced parameters of side block `i` (names relative: "ln_1.weight", "attn.c_attn.weight", …). */
export function prunedBlock(bb: GPT2, i: number, plan: SidePlan): Map<string, tf.Tensor> {
  const c = bb.config;
  const p = `h.${i}`;
  const S = tf.tensor1d(plan.channels, "int32");
  const hdB = c.nEmbd / c.nHead;
  const out = new Map<string, tf.Tensor>();
  const attnW = bb.get(`${p}.attn.c_attn.weight`);
  const projW = bb.get(`${p}.attn.c_proj.weight`);
  const qkvCol = colSq(attnW);
  const projRow = rowSq(projW);
  // Head importance, and within kept heads the most important dims (shared by q, k, v and proj rows).
  const headScore = Array.from({ length: c.nHead }, (_, h) => {
    let s = 0;
    for (let k = 0; k < hdB; k++) {
      const j = h * hdB + k;
      s += qkvCol[j]! + qkvCol[c.nEmbd + j]! + qkvCol[2 * c.nEmbd + j]! + projRow[j]!;
    }
    return s;
  });
  const dims: number[] = [];
  for (const h of topK(headScore, plan.heads)) {
    const sc = Array.from({ length: hdB }, (_, k) => {
      const j = h * hdB + k;
      return qkvCol[j]! + qkvCol[c.nEmbd + j]! + qkvCol[2 * c.nEmbd + j]! + projRow[j]!;
    });
    for (const k of topK(sc, plan.headDim)) dims.push(h * hdB + k);
  }
  const D = tf.tensor1d(dims, "int32");
  const qkvIdx = tf.tensor1d(
    [...dims, ...dims.map((j) => j + c.nEmbd), ...dims.map((j) => j + 2 * c.nEmbd)],
    "int32",
  );
  const fcW = bb.get(`${p}.mlp.c_fc.weight`);
  const mpW = bb.get(`${p}.mlp.c_proj.weight`);
  const fcCol = colSq(fcW);
  const mpRow = rowSq(mpW);
  const N = tf.tensor1d(
    topK(
      Array.from(fcCol, (v, n) => v + mpRow[n]!),
      4 * plan.width,
    ),
    "int32",
  );
  const g = (name: string, idx: tf.Tensor1D, axis = 0) => tf.gather(bb.get(`${p}.${name}`), idx, axis);
  for (const ln of ["ln_1", "ln_2"]) {
    out.set(`${ln}.weight`, g(`${ln}.weight`, S));
    out.set(`${ln}.bias`, g(`${ln}.bias`, S));
  }
  out.set(
    "attn.c_attn.weight",
    tf.tidy(() => tf.gather(tf.gather(attnW, S, 0), qkvIdx, 1)),
  );
  out.set("attn.c_attn.bias", g("attn.c_attn.bias", qkvIdx));
  out.set(
    "attn.c_proj.weight",
    tf.tidy(() => tf.gather(tf.gather(projW, D, 0), S, 1)),
  );
  out.set("attn.c_proj.bias", g("attn.c_proj.bias", S));
  out.set(
    "mlp.c_fc.weight",
    tf.tidy(() => tf.gather(tf.gather(fcW, S, 0), N, 1)),
  );
  out.set("mlp.c_fc.bias", g("mlp.c_fc.bias", N));
  out.set(
    "mlp.c_proj.weight",
    tf.tidy(() => tf.gather(tf.gather(mpW, N, 0), S, 1)),
  );
  out.set("mlp.c_proj.bias", g("mlp.c_proj.bias", S));
  tf.dispose([S, D, qkvIdx, N]);
  return out;
}

/** Selection matrix [d, width]: x·P = x[:, channels]. */
export function selectionMatrix(d: number, channels: number[]): tf.Tensor2D {
  const m = new Float32Array(d * channels.length);
  for (const [j, ch] of channels.entries()) m[ch * channels.length + j] = 1;
  return tf.tensor2d(m, [d, channels.length]);
}
