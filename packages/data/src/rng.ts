/**
 * Seeded, reproducible pseudo-random numbers for NON-PRIVATE choices only (train/test splits,
 * partitions of a public corpus, test fixtures). The state is 128 bits and fully determined by the
 * seed, so anyone who knows the seed knows every draw: never use this for DP noise, Poisson
 * sampling or node sampling — those come from `node:crypto` (see docs/CONTRIBUTING.md).
 *
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, passes PractRand to
 * multiple TB), seeded through splitmix32 so nearby seeds give unrelated streams.
 */
export interface SeededRng {
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform float in [0, 1) with 53 random bits. */
  next(): number;
  /** Uniform integer in [0, n), unbiased (rejection sampling). */
  nextInt(n: number): number;
  /** Standard normal N(0, 1) (Marsaglia polar method). */
  normal(): number;
  /** Gamma(shape, 1) via Marsaglia–Tsang (2000); shape < 1 uses the boost Gamma(a+1)·U^(1/a). */
  gamma(shape: number): number;
  /** Dirichlet(alpha, …, alpha) over k categories (normalised Gamma draws). */
  dirichlet(k: number, alpha: number): Float64Array;
  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(a: T[]): T[];
  shuffle(a: Int32Array): Int32Array;
}

/** Default seed for splits and partitions (documented in README). */
export const DEFAULT_SEED = 42;

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Fold a number (any finite value, 53-bit integers keep all bits) or a string into 32 bits. */
function seedTo32(seed: number | string): number {
  if (typeof seed === "string") {
    let h = 0x811c9dc5; // FNV-1a
    for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193) >>> 0;
    return h;
  }
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be finite, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 0x100000000) >>> 0;
  return (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
}

/**
 * Deterministic generator for non-private randomness. Same seed ⇒ same sequence on every platform.
 * NOT cryptographically secure and NOT for anything privacy-relevant.
 */
export function createSeededRng(seed: number | string = DEFAULT_SEED): SeededRng {
  const sm = splitmix32(seedTo32(seed));
  let a = sm();
  let b = sm();
  let c = sm();
  let d = sm();
  const nextUint32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) nextUint32(); // discard warm-up outputs
  const next = (): number => (nextUint32() * 0x200000 + (nextUint32() >>> 11)) / 0x20000000000000;
  const nextInt = (n: number): number => {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new RangeError(`nextInt: bad bound ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = nextUint32();
      if (x < limit) return x % n;
    }
  };
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    for (;;) {
      const u = 2 * next() - 1;
      const v = 2 * next() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const m = Math.sqrt((-2 * Math.log(s)) / s);
        spare = v * m;
        return u * m;
      }
    }
  };
  const gamma = (shape: number): number => {
    if (!(shape > 0) || !Number.isFinite(shape))
      throw new RangeError(`gamma: shape must be > 0, got ${shape}`);
    if (shape < 1) {
      // Gamma(a) = Gamma(a+1) * U^(1/a); 1 - next() is in (0, 1] so the log/pow never sees 0.
      return gamma(shape + 1) * (1 - next()) ** (1 / shape);
    }
    const dd = shape - 1 / 3;
    const cc = 1 / Math.sqrt(9 * dd);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = normal();
        v = 1 + cc * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - next();
      if (u < 1 - 0.0331 * x * x * x * x) return dd * v;
      if (Math.log(u) < 0.5 * x * x + dd * (1 - v + Math.log(v))) return dd * v;
    }
  };
  const dirichlet = (k: number, alpha: number): Float64Array => {
    const out = new Float64Array(k);
    if (alpha < 1) {
      // Work in log space: for small alpha, U^(1/alpha) underflows to 0 for most draws and the
      // normalisation would divide 0 by 0. log G = log Gamma(a+1) + log(U)/a, then a stable softmax.
      let max = -Infinity;
      for (let i = 0; i < k; i++) {
        const lg = Math.log(gamma(alpha + 1)) + Math.log(1 - next()) / alpha;
        out[i] = lg;
        if (lg > max) max = lg;
      }
      let sum = 0;
      for (let i = 0; i < k; i++) {
        const e = Math.exp(out[i]! - max);
        out[i] = e;
        sum += e;
      }
      for (let i = 0; i < k; i++) out[i] = out[i]! / sum;
      return out;
    }
    let sum = 0;
    for (let i = 0; i < k; i++) {
      const g = gamma(alpha);
      out[i] = g;
      sum += g;
    }
    for (let i = 0; i < k; i++) out[i] = out[i]! / sum;
    return out;
  };
  function shuffle<T>(arr: T[] | Int32Array): T[] | Int32Array {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = nextInt(i + 1);
      const t = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = t;
    }
    return arr;
  }
  return { nextUint32, next, nextInt, normal, gamma, dirichlet, shuffle: shuffle as SeededRng["shuffle"] };
}
