/**
 * Independent BERT forward in plain float64 loops (no tfjs ops) — the known-answer reference for
 * tests. Deliberately written from the equations (post-LN encoder, padding-masked bidirectional
 * attention, exact erf-GELU), not from layer.ts. Weights in this package's layout ([in, out]).
 */
import type { F64Params } from "../gpt2/reference.js";

export interface BertRefConfig {
  nLayer: number;
  nEmbd: number;
  nHead: number;
  layerNormEps: number;
}

/**
 * erf(x) = (2/√π)·e^{−x²}·Σ_n 2ⁿx^{2n+1}/(1·3·…·(2n+1)): every term is positive, so the sum has no
 * cancellation; relative error ~1e-16. Beyond |x| = 6, |1 − erf| < 1e-17.
 */
export function erf64(x: number): number {
  if (Math.abs(x) > 6) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

const gelu = (x: number) => 0.5 * x * (1 + erf64(x / Math.SQRT2));

function layerNorm(x: Float64Array, g: Float64Array, b: Float64Array, eps: number): Float64Array {
  const n = x.length;
  let mu = 0;
  for (const v of x) mu += v;
  mu /= n;
  let v2 = 0;
  for (const v of x) v2 += (v - mu) * (v - mu);
  v2 /= n;
  const s = 1 / Math.sqrt(v2 + eps);
  return x.map((v, i) => (v - mu) * s * g[i]! + b[i]!);
}

/** x[Din] · W[Din,Dout] + b. */
function affine(x: Float64Array, w: { shape: number[]; data: Float64Array }, b: Float64Array): Float64Array {
  const [din, dout] = w.shape as [number, number];
  const out = Float64Array.from(b);
  for (let i = 0; i < din; i++) for (let j = 0; j < dout; j++) out[j]! += x[i]! * w.data[i * dout + j]!;
  return out;
}

/** Hidden states h_0 … h_L for one sequence: [L+1][T] rows of width d. */
export function referenceBertHidden(
  p: F64Params,
  c: BertRefConfig,
  ids: number[],
  mask: number[],
): Float64Array[][] {
  const d = c.nEmbd;
  const hd = d / c.nHead;
  const P = (n: string) => p.get(n)!;
  const lin = (x: Float64Array, name: string) => affine(x, P(`${name}.weight`), P(`${name}.bias`).data);
  const ln = (x: Float64Array, name: string) =>
    layerNorm(x, P(`${name}.weight`).data, P(`${name}.bias`).data, c.layerNormEps);
  const word = P("embeddings.word_embeddings.weight").data;
  const pos = P("embeddings.position_embeddings.weight").data;
  const type = P("embeddings.token_type_embeddings.weight").data;
  let h = ids.map((id, t) => {
    const e = new Float64Array(d);
    for (let k = 0; k < d; k++) e[k] = word[id * d + k]! + pos[t * d + k]! + type[k]!;
    return ln(e, "embeddings.LayerNorm");
  });
  const states = [h];
  for (let l = 0; l < c.nLayer; l++) {
    const pre = `encoder.layer.${l}`;
    const q = h.map((x) => lin(x, `${pre}.attention.self.query`));
    const k = h.map((x) => lin(x, `${pre}.attention.self.key`));
    const v = h.map((x) => lin(x, `${pre}.attention.self.value`));
    h = h.map((x, t) => {
      const ctx = new Float64Array(d);
      for (let head = 0; head < c.nHead; head++) {
        const o = head * hd;
        const scores = k.map((ks, s) => {
          if (mask[s] === 0) return Number.NEGATIVE_INFINITY; // padding keys only: bidirectional
          let dot = 0;
          for (let j = 0; j < hd; j++) dot += q[t]![o + j]! * ks[o + j]!;
          return dot / Math.sqrt(hd);
        });
        const m = Math.max(...scores);
        const e = scores.map((z) => (z === Number.NEGATIVE_INFINITY ? 0 : Math.exp(z - m)));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let s = 0; s < ids.length; s++)
          for (let j = 0; j < hd; j++) ctx[o + j]! += (e[s]! / sum) * v[s]![o + j]!;
      }
      const a = lin(ctx, `${pre}.attention.output.dense`);
      const mid = ln(
        x.map((xv, j) => xv + a[j]!),
        `${pre}.attention.output.LayerNorm`,
      );
      const inner = lin(mid, `${pre}.intermediate.dense`).map(gelu);
      const out = lin(inner, `${pre}.output.dense`);
      return ln(
        mid.map((mv, j) => mv + out[j]!),
        `${pre}.output.LayerNorm`,
      );
    });
    states.push(h);
  }
  return states;
}
