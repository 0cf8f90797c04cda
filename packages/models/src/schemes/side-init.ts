/**
 * Side-network initialisation by structured pruning of the backbone (LST): keep the d/r residual
 * channels, heads/head-dims and MLP neurons with the largest weight norms, and slice each backbone
 * block to that width. Downsamples start as the channel selection, so side states begin as pruned
 * copies of the backbone's; the upsample starts at zero so the model starts at the backbone.
 * Architecture-independent: the backbone's block layout says which weights read from the residual
 * stream (rows pruned), which write to it (columns pruned), and how attention columns split into
 * heads.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackboneModel } from "../core/backbone.js";

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
  /** MLP neurons kept per side block (the backbone's inner/d ratio at the side width). */
  inner: number;
  channels: number[];
}

export function planSide(bb: BackboneModel, reduction: number): SidePlan {
  const c = bb.config;
  const l = bb.blockLayout;
  const width = Math.max(1, Math.floor(c.nEmbd / reduction));
  const heads = Math.max(1, Math.round(c.nHead / reduction));
  if (width % heads !== 0) throw new Error(`side width ${width} not divisible by ${heads} side heads`);
  const innerB = bb.get(`${bb.blockRef(0).prefix}.${l.mlpIn.weight}`).shape[1]!;
  const inner = Math.max(1, Math.round((width * innerB) / c.nEmbd));
  const imp = new Float64Array(c.nEmbd);
  for (let i = 0; i < c.nLayer; i++) {
    const p = bb.blockRef(i).prefix;
    for (const w of [...l.attnIn.map((a) => a.weight), l.mlpIn.weight])
      for (const [j, v] of rowSq(bb.get(`${p}.${w}`)).entries()) imp[j]! += v;
    for (const w of [l.attnOut.weight, l.mlpOut.weight])
      for (const [j, v] of colSq(bb.get(`${p}.${w}`)).entries()) imp[j]! += v;
  }
  return { width, heads, headDim: width / heads, inner, channels: topK(Array.from(imp), width) };
}

/** Sliced parameters of side block `i`, named relative to the block prefix (as in the backbone). */
export function prunedBlock(bb: BackboneModel, i: number, plan: SidePlan): Map<string, tf.Tensor> {
  const c = bb.config;
  const l = bb.blockLayout;
  const p = bb.blockRef(i).prefix;
  const get = (name: string) => bb.get(`${p}.${name}`);
  const d = c.nEmbd;
  const hdB = d / c.nHead;
  // Per attention dim j (head-major): the q, k, v columns of every part plus the output row.
  const dimScore = new Float64Array(d);
  for (const a of l.attnIn) {
    const col = colSq(get(a.weight));
    for (let part = 0; part < a.parts; part++) for (let j = 0; j < d; j++) dimScore[j]! += col[part * d + j]!;
  }
  for (const [j, v] of rowSq(get(l.attnOut.weight)).entries()) dimScore[j]! += v;
  // Head importance, and within kept heads the most important dims (shared by q, k, v and out rows).
  const headScore = Array.from({ length: c.nHead }, (_, h) => {
    let s = 0;
    for (let k = 0; k < hdB; k++) s += dimScore[h * hdB + k]!;
    return s;
  });
  const dims: number[] = [];
  for (const h of topK(headScore, plan.heads)) {
    const sc = Array.from({ length: hdB }, (_, k) => dimScore[h * hdB + k]!);
    for (const k of topK(sc, plan.headDim)) dims.push(h * hdB + k);
  }
  const mlpIn = get(l.mlpIn.weight);
  const mlpOut = get(l.mlpOut.weight);
  const outRow = rowSq(mlpOut);
  const neurons = topK(
    Array.from(colSq(mlpIn), (v, n) => v + outRow[n]!),
    plan.inner,
  );

  const out = new Map<string, tf.Tensor>();
  const S = tf.tensor1d(plan.channels, "int32");
  const D = tf.tensor1d(dims, "int32");
  const N = tf.tensor1d(neurons, "int32");
  const rowsCols = (w: string, rows: tf.Tensor1D, cols: tf.Tensor1D) =>
    out.set(
      w,
      tf.tidy(() => tf.gather(tf.gather(get(w), rows, 0), cols, 1)),
    );
  const vec = (name: string, idx: tf.Tensor1D) => out.set(name, tf.gather(get(name), idx));
  for (const ln of l.norms) {
    vec(`${ln}.weight`, S);
    vec(`${ln}.bias`, S);
  }
  for (const a of l.attnIn) {
    const idx = tf.tensor1d(
      Array.from({ length: a.parts }, (_, part) => dims.map((j) => j + part * d)).flat(),
      "int32",
    );
    rowsCols(a.weight, S, idx);
    vec(a.bias, idx);
    idx.dispose();
  }
  rowsCols(l.attnOut.weight, D, S);
  vec(l.attnOut.bias, S);
  rowsCols(l.mlpIn.weight, S, N);
  vec(l.mlpIn.bias, N);
  rowsCols(l.mlpOut.weight, N, S);
  vec(l.mlpOut.bias, S);
  tf.dispose([S, D, N]);
  return out;
}

/** Selection matrix [d, width]: x·P = x[:, channels]. */
export function selectionMatrix(d: number, channels: number[]): tf.Tensor2D {
  const m = new Float32Array(d * channels.length);
  for (const [j, ch] of channels.entries()) m[ch * channels.length + j] = 1;
  return tf.tensor2d(m, [d, channels.length]);
}
