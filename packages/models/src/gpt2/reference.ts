/**
 * Independent GPT-2 forward in plain float64 loops (no tfjs ops) — the known-answer reference for
 * tests. Deliberately written from the equations, not from block.ts.
 */
export type F64Params = Map<string, { shape: number[]; data: Float64Array }>;

export interface RefConfig {
  nLayer: number;
  nEmbd: number;
  nHead: number;
  layerNormEps: number;
}

function ln(x: Float64Array, g: Float64Array, b: Float64Array, eps: number): Float64Array {
  const n = x.length;
  let mu = 0;
  for (const v of x) mu += v;
  mu /= n;
  let v2 = 0;
  for (const v of x) v2 += (v - mu) * (v - mu);
  v2 /= n;
  const s = 1 / Math.sqrt(v2 + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i]! - mu) * s * g[i]! + b[i]!;
  return out;
}

/** x[Din] · W[Din,Dout] + b. */
function affine(x: Float64Array, w: { shape: number[]; data: Float64Array }, b: Float64Array): Float64Array {
  const [din, dout] = w.shape as [number, number];
  const out = Float64Array.from(b);
  for (let i = 0; i < din; i++) {
    const xi = x[i]!;
    for (let j = 0; j < dout; j++) out[j]! += xi * w.data[i * dout + j]!;
  }
  return out;
}

const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** Final hidden states ln_f(h_L) for one sequence: returns [T][D]. */
export function referenceForward(p: F64Params, c: RefConfig, ids: number[], mask: number[]): Float64Array[] {
  const d = c.nEmbd;
  const T = ids.length;
  const P = (n: string) => p.get(n)!;
  let h: Float64Array[] = ids.map((id, t) => {
    const row = new Float64Array(d);
    for (let k = 0; k < d; k++) row[k] = P("wte.weight").data[id * d + k]! + P("wpe.weight").data[t * d + k]!;
    return row;
  });
  const hd = d / c.nHead;
  for (let l = 0; l < c.nLayer; l++) {
    const pre = `h.${l}`;
    const qkv = h.map((x) =>
      affine(
        ln(x, P(`${pre}.ln_1.weight`).data, P(`${pre}.ln_1.bias`).data, c.layerNormEps),
        P(`${pre}.attn.c_attn.weight`),
        P(`${pre}.attn.c_attn.bias`).data,
      ),
    );
    const ctx = h.map(() => new Float64Array(d));
    for (let hh = 0; hh < c.nHead; hh++) {
      for (let t = 0; t < T; t++) {
        const scores: number[] = [];
        for (let s = 0; s < T; s++) {
          if (s > t || mask[s] === 0) {
            scores.push(Number.NEGATIVE_INFINITY);
            continue;
          }
          let dot = 0;
          for (let k = 0; k < hd; k++) dot += qkv[t]![hh * hd + k]! * qkv[s]![d + hh * hd + k]!;
          scores.push(dot / Math.sqrt(hd));
        }
        const m = Math.max(...scores);
        const e = scores.map((x) => (x === Number.NEGATIVE_INFINITY ? 0 : Math.exp(x - m)));
        const z = e.reduce((a, b) => a + b, 0);
        for (let s = 0; s < T; s++)
          for (let k = 0; k < hd; k++) ctx[t]![hh * hd + k]! += (e[s]! / z) * qkv[s]![2 * d + hh * hd + k]!;
      }
    }
    h = h.map((x, t) => {
      const a = affine(ctx[t]!, P(`${pre}.attn.c_proj.weight`), P(`${pre}.attn.c_proj.bias`).data);
      const mid = x.map((v, k) => v + a[k]!);
      const f = affine(
        ln(mid, P(`${pre}.ln_2.weight`).data, P(`${pre}.ln_2.bias`).data, c.layerNormEps),
        P(`${pre}.mlp.c_fc.weight`),
        P(`${pre}.mlp.c_fc.bias`).data,
      ).map(gelu);
      const o = affine(f, P(`${pre}.mlp.c_proj.weight`), P(`${pre}.mlp.c_proj.bias`).data);
      return mid.map((v, k) => v + o[k]!);
    });
  }
  return h.map((x) => ln(x, P("ln_f.weight").data, P("ln_f.bias").data, c.layerNormEps));
}

/** Logits [T][V] through the tied head. */
export function referenceLogits(p: F64Params, c: RefConfig, ids: number[], mask: number[]): Float64Array[] {
  const wte = p.get("wte.weight")!;
  const [v, d] = wte.shape as [number, number];
  return referenceForward(p, c, ids, mask).map((x) => {
    const out = new Float64Array(v);
    for (let i = 0; i < v; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += x[k]! * wte.data[i * d + k]!;
      out[i] = s;
    }
    return out;
  });
}
