/**
 * Float64 special functions for the accountants: log-space arithmetic and a complementary error
 * function that is accurate to ~1e-15 relative everywhere, including far tails in log space (the
 * RDP series evaluates log erfc at arguments of several hundred).
 */

const SQRT_PI = Math.sqrt(Math.PI);
const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);

/** log(e^a + e^b) without overflow. */
export function logAdd(a: number, b: number): number {
  const hi = Math.max(a, b);
  const lo = Math.min(a, b);
  if (hi === Number.NEGATIVE_INFINITY) return hi;
  return hi + Math.log1p(Math.exp(lo - hi));
}

/** log(e^a − e^b) for a ≥ b; −∞ when equal. Throws when the result would be the log of a negative. */
export function logSub(a: number, b: number): number {
  if (b === Number.NEGATIVE_INFINITY) return a;
  if (a < b) throw new RangeError(`logSub: log of a negative number (a=${a} < b=${b})`);
  if (a === b) return Number.NEGATIVE_INFINITY;
  const d = b - a;
  // log(1 − e^d): use log(−expm1(d)) near 0 and log1p(−e^d) far from it (both stay accurate).
  return a + (d > -Math.LN2 ? Math.log(-Math.expm1(d)) : Math.log1p(-Math.exp(d)));
}

/** erf(x) for |x| ≤ 2 via the all-positive series e^{−x²}·Σ 2ⁿx^{2n+1}/(1·3·…·(2n+1)). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return ((2 / SQRT_PI) * Math.exp(-x2) * sum) as number;
}

/**
 * For x ≥ 2: erfc(x) = e^{−x²}/√π · K(x), returns log K(x). K is the even contraction of the
 * Laplace continued fraction, 2x/(2x²+1 − 1·2/(2x²+5 − 3·4/(2x²+9 − …))), by modified Lentz.
 */
function logErfcCfFactor(x: number): number {
  const tiny = 1e-300;
  const x2 = 2 * x * x;
  let f = x2 + 1;
  let c = f;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = -(2 * n - 1) * (2 * n);
    const b = x2 + 1 + 4 * n;
    d = b + a * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 5e-16) break;
  }
  return Math.log((2 * x) / f);
}

/** erf(x), accurate to ~1e-15. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  if (x < 0) return -erf(-x);
  if (x <= 2) return erfSeries(x);
  return 1 - erfc(x);
}

/** erfc(x) = 1 − erf(x), accurate in relative terms in both tails. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return x;
  if (x < 0) return 2 - erfc(-x);
  if (x < 0.5) return 1 - erfSeries(x);
  if (x <= 2) return 1 - erfSeries(x);
  if (x > 27.3) return 0; // below the smallest subnormal double
  return (Math.exp(-x * x) / SQRT_PI) * Math.exp(logErfcCfFactor(x));
}

/** log(erfc(x)) without underflow for large x. */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return x;
  if (x === Number.POSITIVE_INFINITY) return Number.NEGATIVE_INFINITY;
  if (x < 2) return Math.log(erfc(x));
  return -x * x - LOG_SQRT_PI + logErfcCfFactor(x);
}

/** Standard normal CDF Φ(x). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Standard normal survival 1 − Φ(x), accurate in the upper tail. */
export function normalSf(x: number): number {
  return 0.5 * erfc(x / Math.SQRT2);
}

/** log Φ(x), finite far into the lower tail. */
export function logNormalCdf(x: number): number {
  return Math.log(0.5) + logErfc(-x / Math.SQRT2);
}
