/**
 * Uniforms, Bernoulli masks (Poisson sampling) and continuous normals from the OS CSPRNG
 * (Web Crypto's getRandomValues, global in Node ≥ 20 and in browsers), in batches; uniforms carry 52 random bits and lie strictly inside
 * (0, 1). Noise that protects a release does NOT come from here but from the lattice mechanism
 * (lattice.ts), whose integer noise is exact; the continuous normals serve non-private uses only
 * (initialisation, tests). A seeded word source exists for reproducible tests only; its name says
 * so and it must never touch training.
 */
/** A source of uniformly random 32-bit words, delivered in batches. */
export interface WordSource {
  fill(words: Uint32Array): void;
}

/** The OS CSPRNG as a WordSource. */
export const cryptoWordSource: WordSource = {
  fill(words) {
    // getRandomValues accepts at most 65536 bytes per call.
    for (let i = 0; i < words.length; i += 16384)
      globalThis.crypto.getRandomValues(words.subarray(i, Math.min(words.length, i + 16384)));
  },
};

const TWO_POW_52 = 2 ** 52;

/** Uniforms in (0,1) and standard normals from a WordSource. */
export class GaussianSampler {
  private readonly words: Uint32Array;
  private pos: number;
  private spare = Number.NaN;

  constructor(
    private readonly source: WordSource,
    batchWords = 1 << 14,
  ) {
    this.words = new Uint32Array(batchWords);
    this.pos = batchWords;
  }

  /**
   * (k + ½)/2^52 for a uniformly random 52-bit k: in [2^-53, 1 − 2^-53], never 0 or 1. (With 53 bits
   * the ½ would not fit in the mantissa: (2^53 − ½) rounds to 2^53 and the largest draw would be 1.)
   */
  uniform(): number {
    if (this.pos + 2 > this.words.length) {
      this.source.fill(this.words);
      this.pos = 0;
    }
    const a = this.words[this.pos++]! >>> 6; // 26 bits
    const b = this.words[this.pos++]! >>> 6; // 26 bits
    return (a * 67108864 + b + 0.5) / TWO_POW_52;
  }

  /** A standard normal draw. */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = Number.NaN;
      return s;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const f = Math.sqrt((-2 * Math.log(s)) / s);
      this.spare = v * f;
      return u * f;
    }
  }

  /** Fill `out` with N(mean, std²) draws. */
  fillNormal<T extends Float64Array | Float32Array>(out: T, std = 1, mean = 0): T {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** out[i] += N(0, std²), in place. */
  addNoise<T extends Float64Array | Float32Array>(out: T, std: number): T {
    if (!(std >= 0)) throw new RangeError(`noise std must be ≥ 0, got ${std}`);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + std * this.normal();
    return out;
  }

  /** n independent Bernoulli(q) draws as 0/1 bytes (Poisson sampling of examples or clients). */
  bernoulliMask(n: number, q: number): Uint8Array {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`probability must be in [0, 1], got ${q}`);
    const m = new Uint8Array(n);
    if (q === 0) return m;
    if (q === 1) return m.fill(1);
    for (let i = 0; i < n; i++) m[i] = this.uniform() < q ? 1 : 0;
    return m;
  }
}

let secure: GaussianSampler | undefined;

/** The process-wide CSPRNG-backed sampler. */
export function secureSampler(): GaussianSampler {
  secure ??= new GaussianSampler(cryptoWordSource);
  return secure;
}

/** A uniform in (0, 1) from the CSPRNG. */
export function secureUniform(): number {
  return secureSampler().uniform();
}

/** A standard normal from the CSPRNG. */
export function secureGaussian(): number {
  return secureSampler().normal();
}

/** Fill with N(0, std²) noise from the CSPRNG. */
export function secureGaussianFill<T extends Float64Array | Float32Array>(out: T, std = 1): T {
  return secureSampler().fillNormal(out, std);
}

/** Add N(0, std²) noise from the CSPRNG to every element, in place. */
export function addSecureGaussianNoise<T extends Float64Array | Float32Array>(out: T, std: number): T {
  return secureSampler().addNoise(out, std);
}

/** n Bernoulli(q) draws from the CSPRNG, e.g. a Poisson-sampled batch mask. */
export function secureBernoulliMask(n: number, q: number): Uint8Array {
  return secureSampler().bernoulliMask(n, q);
}

/** Indices i < n selected independently with probability q (Poisson sampling), from the CSPRNG. */
export function securePoissonSample(n: number, q: number): number[] {
  const m = secureBernoulliMask(n, q);
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (m[i]) out.push(i);
  return out;
}

/**
 * FOR TESTS ONLY — NOT PRIVATE. Deterministic 32-bit words (xoshiro128** seeded by splitmix32) so
 * tests can be reproduced. Never use it for noise or sampling in training.
 */
export function insecureSeededWordsForTests(seed: number): WordSource {
  let x = seed >>> 0;
  const split = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const s = Uint32Array.of(split(), split(), split(), split());
  const rotl = (v: number, k: number) => ((v << k) | (v >>> (32 - k))) >>> 0;
  return {
    fill(words) {
      for (let i = 0; i < words.length; i++) {
        const r = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
        const t = (s[1]! << 9) >>> 0;
        s[2]! ^= s[0]!;
        s[3]! ^= s[1]!;
        s[1]! ^= s[2]!;
        s[0]! ^= s[3]!;
        s[2]! ^= t;
        s[3] = rotl(s[3]!, 11);
        words[i] = r;
      }
    },
  };
}

/** FOR TESTS ONLY — NOT PRIVATE. A GaussianSampler over insecureSeededWordsForTests(seed). */
export function createInsecureSeededGaussianForTests(seed: number): GaussianSampler {
  return new GaussianSampler(insecureSeededWordsForTests(seed));
}
