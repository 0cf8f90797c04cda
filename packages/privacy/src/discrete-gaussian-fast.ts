/**
 * The discrete Gaussian sampler of discrete-gaussian.ts (Canonne, Kamath & Steinke 2020,
 * Algorithms 1–3) in float arithmetic: it draws the same bits as the BigInt reference and returns
 * the same values.
 *
 * Why: the reference forms every Bernoulli probability as a ratio of BigInts. At the full scheme's
 * 22.6 M coordinates that cost ~1.3 µs a draw, ~24 s of a ~30 s DP step. Here every probability p
 * is a float r with a rigorous bound e on |r − p|; U's first 53 bits decide U < p whenever they fall
 * outside [r − e, r + e], and only otherwise (about once in 2^40 decisions) is p formed as a BigInt
 * ratio and decided exactly by `RandomBits.bernoulliAfter`. Every decision is therefore exactly
 * U < p, drawing exactly the bits the reference draws, so from the same bits both samplers return
 * the same sequence (lattice.test.ts checks that, also with every decision forced onto the exact
 * path, which checks the BigInt ratios formed here).
 *
 * Error bounds: each bound below is at least 16 times the first-order bound of its few correctly
 * rounded operations (each off by ≤ 2^-53 relative), plus ROUND for rounding r ± e itself.
 */
import type { RandomBits, Rational } from "./discrete-gaussian.js";

const TWO_53 = 2 ** 53;
/** Covers rounding r ± e (|r| ≤ 2) in `decideNear`. */
const ROUND = 2 ** -50;
/** Relative error bound of a value formed by ≤ 8 correctly rounded operations, with margin. */
const REL = 2 ** -48;

/** The per-σ constants the float sampler needs, from the reference's exact ones. */
export interface FastGaussianConstants {
  /** Laplace scale t = ⌊σ⌋ + 1, as a float (exact: t ≤ 2^40) and as a BigInt. */
  t: number;
  tBig: bigint;
  /** σ² = num/den as a float (relative error ≤ 3·2^-53: two conversions and a division). */
  variance: number;
  num: bigint;
  den: bigint;
  /** 2·num·den·t²: the acceptance exponent is (|Y|·t·den − num)² / expDen. */
  expDen: bigint;
}

/** Largest Laplace scale handled here (t·v stays below 2^53 unless v ≥ 2^13, probability e^-8192). */
export const MAX_FAST_SCALE = 2 ** 40;

/** One draw of N_Z(0, σ²). */
export function sampleDiscreteGaussianFast(bits: RandomBits, c: FastGaussianConstants): number {
  for (;;) {
    const y = discreteLaplace(bits, c.t, c.tBig);
    if (accept(bits, y, c)) return y;
  }
}

/** Discrete Laplace with scale t (CKS Algorithm 2, as `sampleDiscreteLaplace`). */
function discreteLaplace(bits: RandomBits, t: number, tBig: bigint): number {
  const limit = TWO_53 - (TWO_53 % t); // `below(t)`: largest multiple of t ≤ 2^53
  for (;;) {
    let u = bits.bits53();
    while (u >= limit) u = bits.bits53();
    u %= t;
    if (!bernoulliExpFraction(bits, u, t, tBig)) continue;
    let v = 0;
    while (bernoulliExpOne(bits)) v++;
    const x = u + t * v;
    if (!(x < TWO_53)) throw new RangeError("discrete Laplace: draw beyond 2^53");
    const negative = bits.bit();
    if (negative && x === 0) continue;
    return negative ? -x : x;
  }
}

/**
 * Bernoulli(exp(−u/t)) for an integer 0 ≤ u < t (CKS Algorithm 1): K ← 1; while Bernoulli(u/(tK)):
 * K++; return K odd. u = 0 draws no bits (the first Bernoulli has p = 0).
 */
function bernoulliExpFraction(bits: RandomBits, u: number, t: number, tBig: bigint): boolean {
  if (u === 0) return true;
  for (let k = 1; ; k++) {
    const r = u / (t * k);
    let d = bits.decideNear(r, r * REL + ROUND);
    if (d < 0) d = bits.bernoulliAfter(bits.pending, { num: BigInt(u), den: tBig * BigInt(k) }) ? 1 : 0;
    if (d === 0) return k % 2 === 1;
  }
}

/** Bernoulli(exp(−1)): the K = 1 Bernoulli has p = 1 and draws no bits; then p = 1/K. */
function bernoulliExpOne(bits: RandomBits): boolean {
  for (let k = 2; ; k++) {
    const r = 1 / k;
    let d = bits.decideNear(r, r * REL + ROUND);
    if (d < 0) d = bits.bernoulliAfter(bits.pending, { num: 1n, den: BigInt(k) }) ? 1 : 0;
    if (d === 0) return k % 2 === 1;
  }
}

/** The exact acceptance exponent γ = (|y|·t·den − num)² / expDen. */
function exactGamma(y: number, c: FastGaussianConstants): Rational {
  const a = BigInt(Math.abs(y)) * c.tBig * c.den - c.num;
  return { num: a * a, den: c.expDen };
}

/**
 * Bernoulli(exp(−γ)) with γ = (|y|·t − σ²)² / (2σ²t²) (CKS Algorithm 3's acceptance), as the
 * reference's `bernoulliExp`: ⌈γ⌉ − 1 draws of Bernoulli(exp(−1)), then Bernoulli(exp(−ρ)) for the
 * remainder ρ ∈ (0, 1]. When |y|·t is close to σ² (relative error of the difference large) or γ is
 * within its error bound of an integer (the number of exp(−1) draws or ρ = 1 uncertain), the
 * reference decides it in BigInt arithmetic — before any bit is drawn, so the bits stay the same.
 */
function accept(bits: RandomBits, y: number, c: FastGaussianConstants): boolean {
  const yt = Math.abs(y) * c.t;
  const diff = yt - c.variance;
  const absDiff = Math.abs(diff);
  if (!(yt < TWO_53) || absDiff < Math.max(4, c.variance * 2 ** -20))
    return bits.bernoulliExp(exactGamma(y, c));
  const gamma = (diff * diff) / (2 * c.variance * (c.t * c.t));
  // |diff − exact| ≤ (3σ² + |diff|)·2^-53 (σ²'s float error and the subtraction); squaring doubles
  // the relative error and forming the quotient adds ≤ 7·2^-53; `err` is ≥ 5 times that bound.
  const err = gamma * ((c.variance + absDiff) / absDiff + 2) * REL;
  const whole = Math.ceil(gamma - err) - 1;
  if (!(gamma - err > 0) || Math.ceil(gamma + err) - 1 !== whole) return bits.bernoulliExp(exactGamma(y, c));
  for (let i = 0; i < whole; i++) if (!bernoulliExpOne(bits)) return false;
  const rho = gamma - whole; // ∈ (0, 1): γ lies strictly between two integers
  const rhoErr = err + gamma * 2 ** -52;
  let exactRho: Rational | undefined;
  for (let k = 1; ; k++) {
    const r = rho / k;
    let d = bits.decideNear(r, rhoErr / k + r * REL + ROUND);
    if (d < 0) {
      if (!exactRho) {
        const g = exactGamma(y, c);
        exactRho = { num: g.num - BigInt(whole) * g.den, den: g.den };
      }
      d = bits.bernoulliAfter(bits.pending, { num: exactRho.num, den: exactRho.den * BigInt(k) }) ? 1 : 0;
    }
    if (d === 0) return k % 2 === 1;
  }
}
