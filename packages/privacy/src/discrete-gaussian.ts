/**
 * Exact sampling of the discrete Gaussian N_Z(0, σ²) — P(k) ∝ exp(−k²/(2σ²)) on the integers —
 * after Canonne, Kamath & Steinke 2020 ("The Discrete Gaussian for Differential Privacy",
 * Algorithms 1–3): Bernoulli(exp(−γ)) by the series trick, a discrete Laplace by rejection, and the
 * discrete Gaussian by rejection from the discrete Laplace with t = ⌊σ⌋ + 1.
 *
 * Why exact: a Gaussian drawn in floating point and added to a float leaves traces of the input in
 * the low-order bits of the output (Mironov 2012; Jin et al. 2022). Integer noise drawn with exact
 * rational arithmetic has no such traces. Every probability below is a ratio of BigInts; each
 * Bernoulli is first decided on a float64 approximation of its probability (relative error
 * < 2⁻⁵⁰), and only when the uniform draw falls within 2⁻⁴⁸ of it — about once in 2⁴⁷ draws — is it
 * decided exactly by extending the uniform with further random bits. So the output distribution is
 * exactly the discrete Gaussian with variance parameter σ² = num/den. Forming the BigInt ratios
 * still costs ~1.3 µs a draw, so `DiscreteGaussian.sample` runs the same algorithm with float
 * probabilities and rigorous error bounds (discrete-gaussian-fast.ts, ~0.3 µs), drawing the same bits
 * and returning the same values as `sampleReference`, which keeps the BigInt form as its definition.
 */
import {
  type FastGaussianConstants,
  MAX_FAST_SCALE,
  sampleDiscreteGaussianFast,
} from "./discrete-gaussian-fast.js";
import type { WordSource } from "./noise.js";

/** A non-negative rational num/den (den > 0). */
export interface Rational {
  num: bigint;
  den: bigint;
}

const TWO_53 = 2 ** 53;
const TWO_53N = 1n << 53n;
const TWO_M53 = 2 ** -53;
const TWO_M32 = 2 ** -32;
/** Half-width of the band around the float probability where the exact comparison takes over. */
const FAST_MARGIN = 2 ** -48;

/** Uniform random integers from a WordSource, consumed in batches. */
export class RandomBits {
  private readonly words: Uint32Array;
  private pos: number;
  /** Test hook: decide every Bernoulli exactly (the fast path is then never taken). */
  exactOnly = false;

  constructor(
    private readonly source: WordSource,
    batchWords = 1 << 12,
  ) {
    this.words = new Uint32Array(batchWords);
    this.pos = batchWords;
  }

  word(): number {
    if (this.pos >= this.words.length) {
      this.source.fill(this.words);
      this.pos = 0;
    }
    return this.words[this.pos++]!;
  }

  bit(): boolean {
    return (this.word() & 1) === 1;
  }

  /** Uniform integer in [0, 2^53). */
  bits53(): number {
    return (this.word() >>> 11) * 4294967296 + this.word();
  }

  /** Uniform integer in [0, 2^64) as a BigInt. */
  bits64(): bigint {
    return (BigInt(this.word()) << 32n) | BigInt(this.word());
  }

  /** Uniform integer in [0, n), n ≥ 1, by rejection (exact). */
  below(n: bigint): bigint {
    if (n <= 0n) throw new RangeError(`below(n) needs n ≥ 1, got ${n}`);
    if (n <= BigInt(TWO_53)) {
      const m = Number(n);
      const limit = TWO_53 - (TWO_53 % m); // largest multiple of m ≤ 2^53
      for (;;) {
        const r = this.bits53();
        if (r < limit) return BigInt(r % m);
      }
    }
    const bits = n.toString(2).length;
    const words = Math.ceil(bits / 32);
    const mask = (1n << BigInt(bits)) - 1n;
    for (;;) {
      let r = 0n;
      for (let i = 0; i < words; i++) r = (r << 32n) | BigInt(this.word());
      r &= mask;
      if (r < n) return r;
    }
  }

  /** Bernoulli(p) for a rational 0 ≤ p ≤ 1, exactly. */
  bernoulli(p: Rational): boolean {
    const { num, den } = p;
    if (num <= 0n) return false;
    if (num >= den) return true;
    // Number(num)/Number(den) is within 3·2^-53 of p (two conversions and a division).
    const d = this.decideNear(Number(num) / Number(den), FAST_MARGIN);
    return d < 0 ? this.bernoulliAfter(this.pending, p) : d === 1;
  }

  /**
   * U < p for a uniform U, when p is known to lie in [r − e, r + e]: 1 (true) or 0 (false) if U's
   * first 32 bits decide it, else if its first 53 do. Otherwise −1, and `pending` keeps those 53 bits
   * (U ∈ [k, k+1)/2^53) for `bernoulliAfter`. U's bits are drawn lazily — most decisions take one
   * word. The caller's e must bound the error of r rigorously and include 2^-50 for rounding r ± e.
   */
  decideNear(r: number, e: number): number {
    const w = this.word(); // U ∈ [w, w+1)/2^32
    if (!this.exactOnly) {
      if ((w + 1) * TWO_M32 <= r - e) return 1;
      if (w * TWO_M32 >= r + e) return 0;
    }
    const k = w * 2097152 + (this.word() >>> 11); // 32 + 21 bits
    if (!this.exactOnly) {
      if ((k + 1) * TWO_M53 <= r - e) return 1;
      if (k * TWO_M53 >= r + e) return 0;
    }
    this.pending = k;
    return -1;
  }

  /** Bits drawn by the last undecided `decideNear`. */
  pending = 0;

  /**
   * U < p exactly, for 0 < p < 1, given U's first 53 bits k (U ∈ [k, k+1)/2^53): further bits of U
   * are drawn only while they are needed to decide.
   */
  bernoulliAfter(k: number, p: Rational): boolean {
    const { num, den } = p;
    // U < num/den ⟺ V·den < R with R = num·2^53 − k·den and V ∈ [0, 1) the rest of U.
    let rest = num * TWO_53N - BigInt(k) * den;
    for (;;) {
      if (rest <= 0n) return false;
      if (rest >= den) return true;
      const w = this.bits64(); // V ∈ [w, w+1)/2^64
      const scaled = rest << 64n;
      const lo = BigInt(w) * den;
      if (lo + den <= scaled) return true;
      if (lo >= scaled) return false;
      rest = scaled - lo;
    }
  }

  /** Bernoulli(exp(−γ)) for a rational γ ≥ 0 (CKS Algorithm 1). */
  bernoulliExp(gamma: Rational): boolean {
    let { num } = gamma;
    const { den } = gamma;
    while (num > den) {
      if (!this.bernoulliExpAtMostOne(den, den)) return false;
      num -= den;
    }
    return this.bernoulliExpAtMostOne(num, den);
  }

  /** Bernoulli(exp(−num/den)) for num/den ∈ [0, 1]: K ← 1; while Bernoulli(γ/K): K++; return K odd. */
  private bernoulliExpAtMostOne(num: bigint, den: bigint): boolean {
    let k = 1n;
    while (this.bernoulli({ num, den: den * k })) k++;
    return k % 2n === 1n;
  }
}

/** ⌊√n⌋ for a BigInt n ≥ 0 (Newton's method). */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError("isqrt of a negative number");
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  // Correct the float estimate in both directions.
  while (x * x > n) x = (x + n / x) / 2n;
  while ((x + 1n) * (x + 1n) <= n) x++;
  return x;
}

/** Discrete Laplace with scale t (integer ≥ 1): P(x) ∝ exp(−|x|/t) (CKS Algorithm 2, s = 1). */
export function sampleDiscreteLaplace(bits: RandomBits, t: bigint): bigint {
  const one = { num: 1n, den: 1n };
  for (;;) {
    const u = bits.below(t);
    if (!bits.bernoulliExp({ num: u, den: t })) continue;
    let v = 0n;
    while (bits.bernoulliExp(one)) v++;
    const x = u + t * v;
    const negative = bits.bit();
    if (negative && x === 0n) continue;
    return negative ? -x : x;
  }
}

/**
 * A sampler of N_Z(0, σ²) for one fixed σ² = num/den, with the per-σ constants precomputed.
 * Accepts Y ~ DLap(t) with probability exp(−(|Y| − σ²/t)²/(2σ²)) (CKS Algorithm 3).
 */
export class DiscreteGaussian {
  private readonly t: bigint;
  /** Denominator of the acceptance exponent: 2·num·den·t². */
  private readonly expDen: bigint;
  private readonly fast: FastGaussianConstants | undefined;
  readonly variance: Rational;

  constructor(variance: Rational) {
    if (variance.den <= 0n || variance.num <= 0n)
      throw new RangeError("discrete Gaussian: σ² must be a positive rational");
    this.variance = variance;
    this.t = isqrt(variance.num / variance.den) + 1n;
    this.expDen = 2n * variance.num * variance.den * this.t * this.t;
    const approx = Number(variance.num) / Number(variance.den);
    if (this.t <= BigInt(MAX_FAST_SCALE) && Number.isFinite(approx) && approx > 0)
      this.fast = {
        t: Number(this.t),
        tBig: this.t,
        variance: approx,
        num: variance.num,
        den: variance.den,
        expDen: this.expDen,
      };
  }

  /** σ² as the smallest rational with denominator 2^20 that is ≥ `sigma`² (never less noise). */
  static ofStd(sigma: number): DiscreteGaussian {
    if (!(sigma > 0) || !Number.isFinite(sigma))
      throw new RangeError(`discrete Gaussian: σ must be positive, got ${sigma}`);
    const den = 1n << 20n;
    // ⌈σ²·2^20⌉ + 1: the +1 absorbs the float product's rounding, so σ² is never below the request.
    const num = BigInt(Math.ceil(sigma * sigma * 1048576)) + 1n;
    return new DiscreteGaussian({ num, den });
  }

  /** One draw; in float arithmetic (discrete-gaussian-fast.ts) unless t > 2^40. */
  sample(bits: RandomBits): bigint {
    return this.fast ? BigInt(sampleDiscreteGaussianFast(bits, this.fast)) : this.sampleReference(bits);
  }

  /** One draw as a Number (exact: |draw| < 2^53 whenever t ≤ 2^40). */
  sampleNumber(bits: RandomBits): number {
    return this.fast ? sampleDiscreteGaussianFast(bits, this.fast) : Number(this.sampleReference(bits));
  }

  /**
   * One draw with every probability a BigInt ratio, as CKS write the algorithm: the definition the
   * float sampler is tested against (same bits in, same value out).
   */
  sampleReference(bits: RandomBits): bigint {
    const { num, den } = this.variance;
    for (;;) {
      const y = sampleDiscreteLaplace(bits, this.t);
      const a = (y < 0n ? -y : y) * this.t * den - num; // (|Y|·t − σ²)·den
      if (bits.bernoulliExp({ num: a * a, den: this.expDen })) return y;
    }
  }
}
