/**
 * Layer normalisation, exact GELU and the multi-head attention core, forward and backward, each one
 * call into MemArc's WebAssembly module (kernels/fused.c). Plain Float32Arrays in; results handed to
 * a consumer as views of the module's memory (valid only during the call — the next call reuses it).
 * fused-ops.ts wraps them as differentiable tfjs ops.
 */
import { kernels, reserve, timed, view, write } from "./wasm-kernels.js";

/** Receives a call's outputs as views of the module's memory, in the order the function documents. */
export type ConsumeViews<R> = (...views: Float32Array[]) => R;

function sized(name: string, x: Float32Array, n: number): Float32Array {
  if (x.length !== n) throw new Error(`fused kernel: ${name} has ${x.length} numbers, expected ${n}`);
  return x;
}

/** y = x·Φ(x) (exact, erf-based GELU) for every value; consume(y). */
export function geluForward<R>(x: Float32Array, consume: ConsumeViews<R>): R {
  const n = x.length;
  const [xi, yo] = reserve([n, n]) as [number, number];
  write(xi, x);
  timed("fused", 0, () => kernels().gelu_fwd(n, xi, yo));
  return consume(view(yo, n));
}

/** dx = dy·(Φ(x) + x·φ(x)); consume(dx). */
export function geluBackward<R>(x: Float32Array, dy: Float32Array, consume: ConsumeViews<R>): R {
  const n = x.length;
  sized("dy", dy, n);
  const [xi, gi, dxo] = reserve([n, n, n]) as [number, number, number];
  write(xi, x);
  write(gi, dy);
  timed("fused", 0, () => kernels().gelu_bwd(n, xi, gi, dxo));
  return consume(view(dxo, n));
}

/** Per row of `d` values: x̂ = (x − mean)·rstd, rstd = 1/√(var + eps); consume(x̂, rstd). */
export function layerNormForward<R>(x: Float32Array, d: number, eps: number, consume: ConsumeViews<R>): R {
  const rows = x.length / d;
  if (!Number.isInteger(rows)) throw new Error(`fused kernel: ${x.length} numbers are not rows of ${d}`);
  const [xi, ho, so] = reserve([x.length, x.length, rows]) as [number, number, number];
  write(xi, x);
  timed("fused", 0, () => kernels().ln_fwd(rows, d, xi, eps, ho, so));
  return consume(view(ho, x.length), view(so, rows));
}

/** dx = rstd·(g − mean(g) − x̂·mean(g⊙x̂)) per row, g = ∂L/∂x̂; consume(dx). */
export function layerNormBackward<R>(
  g: Float32Array,
  xhat: Float32Array,
  rstd: Float32Array,
  consume: ConsumeViews<R>,
): R {
  const rows = rstd.length;
  const d = g.length / rows;
  sized("xhat", xhat, g.length);
  const [gi, hi, si, dxo] = reserve([g.length, g.length, rows, g.length]) as [number, number, number, number];
  write(gi, g);
  write(hi, xhat);
  write(si, rstd);
  timed("fused", 0, () => kernels().ln_bwd(rows, d, gi, hi, si, dxo));
  return consume(view(dxo, g.length));
}

/** Shapes of one attention call: q, k, v, ctx are [b, t, heads·headDim]. */
export interface AttentionShape {
  b: number;
  t: number;
  heads: number;
  headDim: number;
}

/**
 * The additive score bias: none, one value per key for each example ([b, t]: the padding mask), or a
 * full [b, t, t] (causal).
 */
export type AttentionBias = { kind: "none" } | { kind: "keys" | "full"; values: Float32Array };

const BIAS_KIND = { none: 0, keys: 1, full: 2 } as const;

function attnSizes(s: AttentionShape): { n: number; probs: number } {
  for (const [name, v] of Object.entries(s))
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`fused attention: ${name} must be a positive integer, got ${v}`);
  return { n: s.b * s.t * s.heads * s.headDim, probs: s.b * s.heads * s.t * s.t };
}

/**
 * P = softmax(q_h·k_hᵀ/√headDim + bias) per example and head, ctx_h = P·v_h. consume(probabilities
 * [b, heads, t, t], ctx [b, t, heads·headDim]).
 */
export function attentionForward<R>(
  s: AttentionShape,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  bias: AttentionBias,
  consume: ConsumeViews<R>,
): R {
  const { n, probs } = attnSizes(s);
  for (const [name, x] of [
    ["q", q],
    ["k", k],
    ["v", v],
  ] as const)
    sized(name, x, n);
  const biasLen = bias.kind === "none" ? 0 : bias.kind === "keys" ? s.b * s.t : s.b * s.t * s.t;
  if (bias.kind !== "none") sized("bias", bias.values, biasLen);
  const [qi, ki, vi, bi, scratch, po, co] = reserve([
    n,
    n,
    n,
    biasLen,
    s.t * s.headDim,
    probs,
    n,
  ]) as number[] as [number, number, number, number, number, number, number];
  write(qi, q);
  write(ki, k);
  write(vi, v);
  if (bias.kind !== "none") write(bi, bias.values);
  const flops = 4 * s.b * s.heads * s.t * s.t * s.headDim;
  const scale = 1 / Math.sqrt(s.headDim);
  timed("fused", flops, () =>
    kernels().attn_fwd(
      s.b,
      s.heads,
      s.t,
      s.headDim,
      qi,
      ki,
      vi,
      bi,
      BIAS_KIND[bias.kind],
      scale,
      scratch,
      po,
      co,
    ),
  );
  return consume(view(po, probs), view(co, n));
}

/** The attention's gradients from ∂L/∂ctx and the forward's probabilities: consume(dq, dk, dv). */
export function attentionBackward<R>(
  s: AttentionShape,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  probs: Float32Array,
  dctx: Float32Array,
  consume: ConsumeViews<R>,
): R {
  const { n, probs: np } = attnSizes(s);
  for (const [name, x] of [
    ["q", q],
    ["k", k],
    ["v", v],
    ["dctx", dctx],
  ] as const)
    sized(name, x, n);
  sized("probabilities", probs, np);
  const [qi, ki, vi, pi, gi, scratch, dqo, dko, dvo] = reserve([
    n,
    n,
    n,
    np,
    n,
    s.t * s.t + s.t * s.headDim,
    n,
    n,
    n,
  ]) as [number, number, number, number, number, number, number, number, number];
  write(qi, q);
  write(ki, k);
  write(vi, v);
  write(pi, probs);
  write(gi, dctx);
  const flops = 8 * s.b * s.heads * s.t * s.t * s.headDim;
  const scale = 1 / Math.sqrt(s.headDim);
  timed("fused", flops, () =>
    kernels().attn_bwd(s.b, s.heads, s.t, s.headDim, qi, ki, vi, pi, gi, scale, scratch, dqo, dko, dvo),
  );
  return consume(view(dqo, n), view(dko, n), view(dvo, n));
}
