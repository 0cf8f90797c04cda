import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { normalCdf } from "./math.js";
import {
  addSecureGaussianNoise,
  createInsecureSeededGaussianForTests,
  secureBernoulliMask,
  secureGaussianFill,
  securePoissonSample,
  secureUniform,
} from "./noise.js";

/** Kolmogorov–Smirnov statistic of `xs` against N(0,1). */
function ksStatistic(xs: Float64Array): number {
  const s = Float64Array.from(xs).sort();
  const n = s.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = normalCdf(s[i]!);
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  }
  return d;
}

function moments(xs: ArrayLike<number>): { mean: number; variance: number } {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m += xs[i]!;
  m /= xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i]! - m) ** 2;
  return { mean: m, variance: v / (xs.length - 1) };
}

const N = 1_000_000;

describe("secure Gaussian sampler", () => {
  it("10^6 CSPRNG draws: mean, variance and KS test against N(0,1)", () => {
    const xs = secureGaussianFill(new Float64Array(N));
    const { mean, variance } = moments(xs);
    assert.ok(Math.abs(mean) < 5 / Math.sqrt(N), `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 5 * Math.sqrt(2 / N), `variance ${variance}`);
    const d = ksStatistic(xs);
    // 1.95/√n is the 0.1% critical value.
    assert.ok(d < 1.95 / Math.sqrt(N), `KS D=${d}`);
  });

  it("the KS check has power: it rejects a slightly wrong variance", () => {
    const xs = createInsecureSeededGaussianForTests(7).fillNormal(new Float64Array(N), 1.01);
    assert.ok(ksStatistic(xs) > 1.95 / Math.sqrt(N));
  });

  it("the seeded test sampler is reproducible and also passes KS", () => {
    const a = createInsecureSeededGaussianForTests(42).fillNormal(new Float64Array(200_000));
    const b = createInsecureSeededGaussianForTests(42).fillNormal(new Float64Array(200_000));
    const c = createInsecureSeededGaussianForTests(43).fillNormal(new Float64Array(10));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.subarray(0, 10), c);
    assert.ok(ksStatistic(a) < 1.95 / Math.sqrt(a.length));
  });

  it("fills Float32Arrays and adds scaled noise in place", () => {
    const f = secureGaussianFill(new Float32Array(100_000), 3);
    const m = moments(f);
    assert.ok(Math.abs(Math.sqrt(m.variance) - 3) < 0.05, `std ${Math.sqrt(m.variance)}`);
    const base = new Float64Array(100_000).fill(10);
    addSecureGaussianNoise(base, 0.5);
    const mb = moments(base);
    assert.ok(Math.abs(mb.mean - 10) < 0.01 && Math.abs(Math.sqrt(mb.variance) - 0.5) < 0.01);
    assert.throws(() => addSecureGaussianNoise(base, -1), RangeError);
  });

  it("uniforms lie strictly inside (0,1) and are fresh", () => {
    const us = Array.from({ length: 10_000 }, () => secureUniform());
    assert.ok(us.every((u) => u > 0 && u < 1));
    assert.ok(new Set(us).size === us.length);
    const { mean } = moments(us);
    assert.ok(Math.abs(mean - 0.5) < 0.02);
  });

  it("Bernoulli masks and Poisson samples have the right rate", () => {
    const n = 1_000_000;
    const q = 0.01;
    const m = secureBernoulliMask(n, q);
    let k = 0;
    for (const b of m) k += b;
    assert.ok(Math.abs(k - n * q) < 5 * Math.sqrt(n * q * (1 - q)), `${k}`);
    assert.equal(
      secureBernoulliMask(100, 0).reduce((s, b) => s + b, 0),
      0,
    );
    assert.equal(
      secureBernoulliMask(100, 1).reduce((s, b) => s + b, 0),
      100,
    );
    const idx = securePoissonSample(10_000, 0.5);
    assert.ok(idx.every((i, j) => j === 0 || i > idx[j - 1]!));
    assert.ok(Math.abs(idx.length - 5000) < 5 * 50);
    assert.throws(() => secureBernoulliMask(10, 1.1), RangeError);
  });
});
