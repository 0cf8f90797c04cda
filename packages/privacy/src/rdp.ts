/**
 * Rényi DP of the Poisson-subsampled Gaussian mechanism (sensitivity 1, noise std σ), computed
 * exactly in log space following Mironov, Talwar & Zhang (2019), "Rényi Differential Privacy of the
 * Sampled Gaussian Mechanism", §3.3:
 *  - integer α: A_α = Σ_k C(α,k) (1−q)^{α−k} q^k exp((k²−k)/(2σ²)) (a finite sum of positive terms);
 *  - fractional α: the convergent signed series A_α = A₀ + A₁ with erfc weights around
 *    z₀ = σ² log(1/q − 1) + ½ (binomial coefficients of a real α change sign past k > α).
 * RDP(α) = log A_α / (α − 1), and T steps compose additively.
 */
import { logAdd, logErfc, logSub } from "./math.js";

/** 1.1, 1.2, …, 10.9, 11, 12, …, 63, 128, 256, 512, 1024 (decimal orders built from integers). */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, i) => (11 + i) / 10),
  ...Array.from({ length: 53 }, (_, i) => 11 + i),
  128,
  256,
  512,
  1024,
]);

/** dp_accounting's DEFAULT_RDP_ORDERS, used by the golden tests and handy for comparisons. */
export const DP_ACCOUNTING_ORDERS: readonly number[] = Object.freeze([
  1.25,
  1.5,
  1.75,
  2,
  2.25,
  2.5,
  3,
  3.5,
  4,
  4.5,
  ...Array.from({ length: 59 }, (_, i) => 5 + i),
  128,
  256,
  512,
]);

export function validateMechanism(noiseMultiplier: number, sampleRate: number): void {
  if (!(noiseMultiplier >= 0) || Number.isNaN(noiseMultiplier))
    throw new RangeError(`noiseMultiplier must be ≥ 0, got ${noiseMultiplier}`);
  if (!(sampleRate >= 0 && sampleRate <= 1))
    throw new RangeError(`sampleRate must be in [0, 1], got ${sampleRate}`);
}

/** log A_α for integer α ≥ 2: log-sum-exp of the binomial expansion. */
function logAInt(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const inv2s2 = 1 / (2 * sigma * sigma);
  let logCoef = 0; // log C(α, 0)
  let acc = Number.NEGATIVE_INFINITY;
  for (let k = 0; k <= alpha; k++) {
    if (k > 0) logCoef += Math.log(alpha - k + 1) - Math.log(k);
    const term = logCoef + k * logQ + (alpha - k) * log1mQ + (k * k - k) * inv2s2;
    acc = logAdd(acc, term);
  }
  return acc;
}

/**
 * log A_α for fractional α > 1: the signed series of Mironov et al. §3.3. Positive and negative
 * terms are accumulated separately in log space and subtracted once at the end.
 */
function logAFrac(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const s2 = sigma * sigma;
  const z0 = s2 * Math.log(1 / q - 1) + 0.5;
  const denom = Math.SQRT2 * sigma;
  let pos = Number.NEGATIVE_INFINITY;
  let neg = Number.NEGATIVE_INFINITY;
  let logAbsCoef = 0; // log |C(α, i)|
  let sign = 1;
  for (let i = 0; i < 100000; i++) {
    if (i > 0) {
      const f = alpha - i + 1;
      logAbsCoef += Math.log(Math.abs(f)) - Math.log(i);
      if (f < 0) sign = -sign;
    }
    const j = alpha - i;
    const logT0 = logAbsCoef + i * logQ + j * log1mQ;
    const logT1 = logAbsCoef + j * logQ + i * log1mQ;
    const logE0 = Math.log(0.5) + logErfc((i - z0) / denom);
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / denom);
    const logS0 = logT0 + (i * i - i) / (2 * s2) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * s2) + logE1;
    const s = logAdd(logS0, logS1);
    if (sign > 0) pos = logAdd(pos, s);
    else neg = logAdd(neg, s);
    // Past i > α the terms shrink geometrically; stop when they no longer move a double.
    if (i > alpha && Math.max(logS0, logS1) < Math.max(pos, 0) - 40) break;
  }
  return logSub(pos, neg);
}

/** RDP at one order for a single step. */
export function rdpSingleStep(q: number, sigma: number, alpha: number): number {
  if (!(alpha > 1)) throw new RangeError(`RDP order must be > 1, got ${alpha}`);
  if (q === 0) return 0;
  if (sigma === 0 || alpha === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (q === 1) return alpha / (2 * sigma * sigma);
  const logA = Number.isInteger(alpha) ? logAInt(q, sigma, alpha) : logAFrac(q, sigma, alpha);
  return logA / (alpha - 1);
}

/**
 * RDP ε(α) of `steps` compositions of the Poisson-subsampled Gaussian with sampling rate `q` and
 * noise multiplier `sigma`, at each order.
 */
export function computeRdp(
  q: number,
  sigma: number,
  steps: number,
  orders: readonly number[] = DEFAULT_ORDERS,
): number[] {
  validateMechanism(sigma, q);
  if (!(steps >= 0)) throw new RangeError(`steps must be ≥ 0, got ${steps}`);
  return orders.map((a) => {
    const r = rdpSingleStep(q, sigma, a);
    return r === 0 || steps === 0 ? 0 : r * steps;
  });
}

export interface RdpConversion {
  epsilon: number;
  /** The order at which the bound is tightest (NaN when every order gives ∞). */
  order: number;
}

/**
 * (ε, δ) from RDP with the improved conversion of Balle et al. (2020) / Canonne, Kamath & Steinke
 * (2020): ε = r + log1p(−1/α) − log(δ·α)/(α−1), minimised over orders. Orders ≤ 1 and r = ∞ are
 * skipped; when δ ≥ √(1 − e^{−r}) the KL (Pinsker-type) bound already gives ε = 0. ε is clamped at 0.
 */
export function rdpToEpsilon(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
): RdpConversion {
  if (orders.length !== rdp.length) throw new RangeError("orders and rdp must have the same length");
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta must be in (0, 1), got ${delta}`);
  let best = Number.POSITIVE_INFINITY;
  let bestOrder = Number.NaN;
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i]!;
    const r = rdp[i]!;
    if (!(a > 1) || Number.isNaN(r) || r === Number.POSITIVE_INFINITY) continue;
    if (r < 0) throw new RangeError(`RDP must be ≥ 0, got ${r} at order ${a}`);
    const eps =
      delta * delta + Math.expm1(-r) > 0 ? 0 : r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1);
    if (eps < best) {
      best = eps;
      bestOrder = a;
    }
  }
  return { epsilon: Math.max(0, best), order: bestOrder };
}

export interface RdpDeltaConversion {
  delta: number;
  order: number;
}

/**
 * δ for a given ε from RDP: the matching conversion, log δ = (α−1)(r − ε + log1p(−1/α)) − log α,
 * also bounded by the KL bound δ ≤ √(1 − e^{−r}); minimised over orders and capped at 1.
 */
export function rdpToDelta(
  orders: readonly number[],
  rdp: readonly number[],
  epsilon: number,
): RdpDeltaConversion {
  if (orders.length !== rdp.length) throw new RangeError("orders and rdp must have the same length");
  if (!(epsilon >= 0)) throw new RangeError(`epsilon must be ≥ 0, got ${epsilon}`);
  let best = Number.POSITIVE_INFINITY;
  let bestOrder = Number.NaN;
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i]!;
    const r = rdp[i]!;
    if (!(a > 1) || Number.isNaN(r) || r === Number.POSITIVE_INFINITY) continue;
    if (r < 0) throw new RangeError(`RDP must be ≥ 0, got ${r} at order ${a}`);
    let logDelta = r === 0 ? Number.NEGATIVE_INFINITY : 0.5 * Math.log1p(-Math.exp(-r));
    if (epsilon !== Number.POSITIVE_INFINITY) {
      logDelta = Math.min(logDelta, (a - 1) * (r - epsilon + Math.log1p(-1 / a)) - Math.log(a));
    } else logDelta = Number.NEGATIVE_INFINITY;
    if (logDelta < best) {
      best = logDelta;
      bestOrder = a;
    }
  }
  return { delta: Math.min(1, Math.exp(best)), order: bestOrder };
}
