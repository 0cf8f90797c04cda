/**
 * Privacy-loss distributions (PLDs) of the Poisson-subsampled Gaussian mechanism, discretised on a
 * grid of width Δ with pessimistic rounding (every privacy-loss value is rounded UP to the next
 * multiple of Δ, as in dp_accounting's `from_gaussian_mechanism(pessimistic_estimate=True)` with
 * value discretisation), and composed by FFT (Koskela, Jälkö & Honkela 2020; Meiser & Mohammadi 2018).
 *
 * Adjacency (sensitivity 1, noise N(0, σ²), sampling probability q):
 *  - remove: P = (1−q)·N(0,σ²) + q·N(1,σ²), Q = N(0,σ²); L(x) = log(1 − q + q·e^{(2x−1)/(2σ²)}),
 *  - add:    P = N(0,σ²), Q = (1−q)·N(0,σ²) + q·N(1,σ²); L(x) = −log(1 − q + q·e^{(2x−1)/(2σ²)}),
 * where the PMF is the law of L(X), X ~ P, and δ(ε) = E_P[(1 − e^{ε−L})₊] (+ mass at L = ∞).
 *
 * Error: each step's loss is over-estimated by less than Δ, so after T steps the discretised loss is
 * the true loss plus something in [0, T·Δ): δ_true(ε) ≤ δ_pld(ε) ≤ δ_true(ε − T·Δ) + η, and hence
 * ε_true(δ) ≤ ε_pld(δ) ≤ ε_true(δ − η) + T·Δ, where η is the tail mass dropped or moved to ∞ by
 * truncation (≤ ~1e-20 with the defaults; reported).
 */
import FFT from "fft.js";
import { logAdd, normalCdf, normalSf } from "./math.js";

export type Adjacency = "add" | "remove";

/** Probability mass `mass[j]` at privacy loss (offset + j)·interval, plus mass at +∞. */
export interface LossPmf {
  interval: number;
  offset: number;
  mass: Float64Array;
  infinityMass: number;
}

/** Where Gaussian tails are cut when discretising one step: ±K standard deviations (Φ(−10.5) ≈ 4e-26). */
const TAIL_SIGMAS = 10.5;

/** PMF of a mechanism that reveals nothing: all mass at loss 0. */
export function identityPmf(interval: number): LossPmf {
  return { interval, offset: 0, mass: Float64Array.of(1), infinityMass: 0 };
}

/**
 * Discretised PLD of one step of the Poisson-subsampled Gaussian. `rounding: "up"` is the
 * pessimistic estimate (bin ((i−1)Δ, iΔ] → iΔ); `"nearest"` (bin ((i−½)Δ, (i+½)Δ] → iΔ) is an unbiased
 * estimate used only to size grids, never to report privacy.
 */
export function subsampledGaussianPmf(
  sigma: number,
  q: number,
  adjacency: Adjacency,
  interval: number,
  rounding: "up" | "nearest" = "up",
): LossPmf {
  if (!(interval > 0)) throw new RangeError(`interval must be > 0, got ${interval}`);
  if (q === 0) return identityPmf(interval);
  const log1mQ = Math.log1p(-q);
  if (sigma === 0) {
    // Point masses: remove → loss log(1−q) w.p. 1−q and ∞ w.p. q; add → loss −log(1−q) w.p. 1.
    const l = adjacency === "remove" ? log1mQ : -log1mQ;
    if (!Number.isFinite(l)) return { interval, offset: 0, mass: new Float64Array(1), infinityMass: 1 };
    const i = Math.ceil(l / interval - (rounding === "nearest" ? 0.5 : 0));
    return {
      interval,
      offset: i,
      mass: Float64Array.of(adjacency === "remove" ? 1 - q : 1),
      infinityMass: adjacency === "remove" ? q : 0,
    };
  }
  const s2 = sigma * sigma;
  const logQ = Math.log(q);
  /** log(1 − q + q·e^{(2x−1)/(2σ²)}) */
  const mixLog = (x: number) =>
    q === 1 ? (2 * x - 1) / (2 * s2) : logAdd(log1mQ, logQ + (2 * x - 1) / (2 * s2));
  /** The x with mixLog(x) = v, or −∞ when v ≤ log(1−q). */
  const mixInv = (v: number) => {
    const t = Math.expm1(v) + q;
    return t > 0 ? s2 * (Math.log(t) - logQ) + 0.5 : Number.NEGATIVE_INFINITY;
  };
  let cdf: (l: number) => number;
  let sf: (l: number) => number;
  let lLo: number;
  let lHi: number;
  if (adjacency === "remove") {
    const mixCdf = (x: number) => (1 - q) * normalCdf(x / sigma) + q * normalCdf((x - 1) / sigma);
    const mixSf = (x: number) => (1 - q) * normalSf(x / sigma) + q * normalSf((x - 1) / sigma);
    cdf = (l) => mixCdf(mixInv(l));
    sf = (l) => mixSf(mixInv(l));
    lLo = mixLog(-TAIL_SIGMAS * sigma);
    lHi = mixLog(1 + TAIL_SIGMAS * sigma);
  } else {
    // L(x) ≤ l ⇔ x ≥ mixInv(−l) (L decreasing in x).
    cdf = (l) => normalSf(mixInv(-l) / sigma);
    sf = (l) => normalCdf(mixInv(-l) / sigma);
    lLo = -mixLog(TAIL_SIGMAS * sigma);
    lHi = -mixLog(-TAIL_SIGMAS * sigma);
  }
  const h = rounding === "nearest" ? 0.5 : 0;
  // Bin i holds losses in (edge(i−1), edge(i)] with edge(i) = (i + h)·Δ: ((i−1)Δ, iΔ] for "up".
  const edge = (i: number) => (i + h) * interval;
  const iLo = Math.floor(lLo / interval - h);
  const iHi = Math.ceil(lHi / interval - h);
  const n = iHi - iLo + 1;
  const mass = new Float64Array(n);
  // Below the 0.5 quantile differences of the CDF are accurate; above it, of the survival function.
  let prevC = cdf(edge(iLo));
  mass[0] = prevC; // everything at or below the lowest edge is rounded up into the first bin
  let prevS = prevC < 0.5 ? Number.NaN : sf(edge(iLo));
  for (let j = 1; j < n; j++) {
    const e = edge(iLo + j);
    if (Number.isNaN(prevS)) {
      const c = cdf(e);
      mass[j] = Math.max(0, c - prevC);
      prevC = c;
      if (c >= 0.5) prevS = sf(e);
    } else {
      const s = sf(e);
      mass[j] = Math.max(0, prevS - s);
      prevS = s;
    }
  }
  const top = Number.isNaN(prevS) ? 1 - prevC : prevS;
  return { interval, offset: iLo, mass, infinityMass: Math.max(0, top) };
}

export interface ComposePart {
  pmf: LossPmf;
  count: number;
}

export interface ComposeOptions {
  /** Largest FFT length allowed (power of 2). */
  maxSize?: number;
  /** Tails beyond e^{−tailLog} (Chernoff bound) are cut; the cut upper tail is counted as ∞ mass. */
  tailLog?: number;
}

export interface ComposedPmf extends LossPmf {
  /** Upper bound on probability mass cut from the upper tail (already included in infinityMass). */
  truncatedMass: number;
}

const LAMBDAS = Array.from({ length: 37 }, (_, i) => 2 ** ((i - 14) / 2)); // 2^-7 … 2^11 in steps of √2

/**
 * Log moment generating functions log Σ m·e^{λ·l} of a PMF's finite part, for each λ in `lambdas`.
 * For speed, bins are grouped in blocks [a, a+w]; on each block e^{λl} is bounded by its chord
 * (convexity), Σ m·e^{λl} ≤ e^{λa}·(M + (S/w)·expm1(λw)) with M = Σ m and S = Σ m·(l − a). That keeps
 * it a valid upper bound (so the Chernoff tails stay rigorous) and tight to O((λw)²) per step.
 */
function logMgf(pmf: LossPmf, lambdas: readonly number[]): number[] {
  // Blocks no wider than 1e-3 nats keep the chord slack negligible even over 10^5 steps.
  const B = Math.max(1, Math.min(64, Math.floor(1e-3 / pmf.interval)));
  const n = pmf.mass.length;
  const nb = Math.ceil(n / B);
  const bm = new Float64Array(nb);
  const bs = new Float64Array(nb);
  for (let j = 0; j < n; j++) {
    const b = (j / B) | 0;
    bm[b]! += pmf.mass[j]!;
    bs[b]! += pmf.mass[j]! * (j - b * B) * pmf.interval;
  }
  const w = Math.max(B - 1, 1) * pmf.interval;
  const ex = new Float64Array(nb);
  return lambdas.map((lam) => {
    let mx = Number.NEGATIVE_INFINITY;
    const em1 = Math.expm1(lam * w);
    for (let b = 0; b < nb; b++) {
      const a = (pmf.offset + b * B) * pmf.interval;
      const v = bm[b]! > 0 ? lam * a + Math.log(bm[b]! + (bs[b]! / w) * em1) : Number.NEGATIVE_INFINITY;
      ex[b] = v;
      if (v > mx) mx = v;
    }
    if (mx === Number.NEGATIVE_INFINITY) return mx;
    let s = 0;
    for (let b = 0; b < nb; b++) s += Math.exp(ex[b]! - mx);
    return mx + Math.log(s);
  });
}

export interface LossRange {
  /** Grid indices [lo, hi] that hold all but e^{−tailLog} of the composed mass on each side. */
  lo: number;
  hi: number;
  /** Chernoff bound on the composed mass above hi (0 when nothing is cut). */
  upperTail: number;
}

/** Support of the composition of `parts`, trimmed by Chernoff bounds at e^{−tailLog}. */
export function composedRange(parts: readonly ComposePart[], tailLog = 46): LossRange {
  let lo = 0;
  let hi = 0;
  for (const { pmf, count } of parts) {
    lo += count * pmf.offset;
    hi += count * (pmf.offset + pmf.mass.length - 1);
  }
  const interval = parts[0]?.pmf.interval ?? 1;
  const lams = [...LAMBDAS, ...LAMBDAS.map((l) => -l)];
  const total = new Array<number>(lams.length).fill(0);
  for (const { pmf, count } of parts) {
    const m = logMgf(pmf, lams);
    for (let k = 0; k < lams.length; k++) total[k]! += count * m[k]!;
  }
  let bestHi = hi;
  let upperTail = 0;
  let bestLo = lo;
  for (let k = 0; k < lams.length; k++) {
    const lam = lams[k]!;
    const s = (total[k]! + tailLog) / lam; // P(S ≥ s) ≤ e^{−tailLog} (λ>0); P(S ≤ s) ≤ e^{−tailLog} (λ<0)
    if (lam > 0) {
      const idx = Math.ceil(s / interval);
      if (idx < bestHi) {
        bestHi = idx;
        upperTail = Math.exp(total[k]! - lam * idx * interval);
      }
    } else {
      const idx = Math.floor(s / interval);
      if (idx > bestLo) bestLo = idx;
    }
  }
  return { lo: Math.min(bestLo, bestHi), hi: bestHi, upperTail: bestHi < hi ? upperTail : 0 };
}

let fftCache: { size: number; fft: FFT } | undefined;
function getFft(size: number): FFT {
  if (fftCache?.size !== size) fftCache = { size, fft: new FFT(size) };
  return fftCache.fft;
}

/**
 * Compose PMFs (each `count` times) by one FFT: every PMF's spectrum is raised to its count and the
 * spectra multiplied. The buffer covers the Chernoff-trimmed support; the mass cut from the upper
 * tail is added to the ∞ mass so δ is never under-counted (mass cut from the lower tail wraps to the
 * top of the buffer, which can only over-count).
 */
export function composePmfs(parts: readonly ComposePart[], options: ComposeOptions = {}): ComposedPmf {
  const maxSize = options.maxSize ?? 2 ** 22;
  const first = parts[0];
  if (!first) throw new RangeError("composePmfs: nothing to compose");
  const interval = first.pmf.interval;
  let logFinite = 0; // log Π (1 − a)^count
  let base = 0;
  let maxLen = 1;
  for (const { pmf, count } of parts) {
    if (pmf.interval !== interval) throw new RangeError("composePmfs: PMFs on different grids");
    logFinite += count * Math.log1p(-pmf.infinityMass);
    base += count * pmf.offset;
    maxLen = Math.max(maxLen, pmf.mass.length);
  }
  const range = composedRange(parts, options.tailLog);
  const width = range.hi - range.lo + 1;
  let size = 2;
  while (size < Math.max(width, maxLen)) size *= 2;
  if (size > maxSize)
    throw new RangeError(
      `composePmfs: grid of ${size} points exceeds maxSize ${maxSize}; use a coarser interval`,
    );
  const fft = getFft(size);
  const acc = new Float64Array(2 * size);
  const spec = new Float64Array(2 * size);
  const real = new Float64Array(size);
  let firstPart = true;
  for (const { pmf, count } of parts) {
    if (count === 0) continue;
    real.fill(0);
    real.set(pmf.mass);
    fft.realTransform(spec, real);
    // The spectrum of a real sequence is Hermitian, and so are its powers and products: work on
    // bins 0…N/2 only and mirror them before the inverse transform.
    const half = size / 2;
    for (let k = 0; k <= half; k++) {
      const re = spec[2 * k]!;
      const im = spec[2 * k + 1]!;
      const logMag = 0.5 * count * Math.log(re * re + im * im);
      let pr = 0;
      let pi = 0;
      if (logMag > -745) {
        const mag = Math.exp(logMag);
        const th = count * Math.atan2(im, re);
        pr = mag * Math.cos(th);
        pi = mag * Math.sin(th);
      }
      if (firstPart) {
        acc[2 * k] = pr;
        acc[2 * k + 1] = pi;
      } else {
        const ar = acc[2 * k]!;
        const ai = acc[2 * k + 1]!;
        acc[2 * k] = ar * pr - ai * pi;
        acc[2 * k + 1] = ar * pi + ai * pr;
      }
    }
    firstPart = false;
  }
  if (firstPart) return { ...identityPmf(interval), truncatedMass: 0 };
  fft.completeSpectrum(acc);
  fft.inverseTransform(spec, acc);
  const mass = new Float64Array(size);
  const shift = (((base - range.lo) % size) + size) % size;
  for (let p = 0; p < size; p++) {
    const v = spec[2 * p]!;
    // FFT round-off leaves ~1e-17 noise (possibly negative) in empty bins; negatives are dropped.
    if (v > 0) mass[(p + shift) % size] = v;
  }
  const infinityMass = Math.min(1, -Math.expm1(logFinite) + range.upperTail);
  return { interval, offset: range.lo, mass, infinityMass, truncatedMass: range.upperTail };
}

/** δ(ε) = Σ_{l > ε} m·(1 − e^{ε−l}) + ∞ mass. */
export function pmfDelta(pmf: LossPmf, epsilon: number): number {
  let d = 0;
  const { mass, offset, interval } = pmf;
  for (let j = mass.length - 1; j >= 0; j--) {
    const l = (offset + j) * interval;
    if (l <= epsilon) break;
    d += mass[j]! * -Math.expm1(epsilon - l);
  }
  return Math.min(1, d + pmf.infinityMass);
}

/**
 * The smallest ε ≥ 0 with δ(ε) ≤ delta, solved exactly on each interval between grid losses
 * (δ(ε) = ∞mass + A − e^ε·B there, with A = Σ m and B = Σ m·e^{−l} over losses above ε).
 */
export function pmfEpsilon(pmf: LossPmf, delta: number): number {
  if (pmf.infinityMass >= delta) return Number.POSITIVE_INFINITY;
  const { mass, offset, interval } = pmf;
  let a = 0;
  let b = 0;
  for (let j = mass.length - 1; j >= 0; j--) {
    const m = mass[j]!;
    if (m === 0) continue;
    const l = (offset + j) * interval;
    a += m;
    b += m * Math.exp(-l);
    const num = pmf.infinityMass + a - delta;
    if (num <= 0) continue;
    const eps = Math.log(num / b);
    // The solution is valid if it lies at or above the next lower loss with mass.
    let k = j - 1;
    while (k >= 0 && mass[k] === 0) k--;
    const lower = k >= 0 ? (offset + k) * interval : Number.NEGATIVE_INFINITY;
    if (eps >= lower) return Math.max(0, Math.min(eps, l));
  }
  return 0;
}
