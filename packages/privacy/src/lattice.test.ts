import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DiscreteGaussian, isqrt, RandomBits, sampleDiscreteLaplace } from "./discrete-gaussian.js";
import {
  addLatticeGaussian,
  addLatticeNoise,
  drawLatticeNoise,
  drawLatticeNoiseShare,
  GRID_RATIO,
  insecureSeededBitsForTests,
  latticeGaussianScalar,
  latticeNoiseFromShares,
  planLattice,
  secureRandomBits,
} from "./lattice.js";
import { normalSf } from "./math.js";
import { GaussianSampler, insecureSeededWordsForTests, type WordSource } from "./noise.js";

/** The discrete Gaussian pmf on [-K, K], normalised over a range wide enough to hold all the mass. */
function discreteGaussianPmf(sigma2: number, k: number): Map<number, number> {
  const w = new Map<number, number>();
  let z = 0;
  const wide = Math.ceil(40 * Math.sqrt(sigma2)) + 40;
  for (let x = -wide; x <= wide; x++) {
    const p = Math.exp((-x * x) / (2 * sigma2));
    z += p;
    if (Math.abs(x) <= k) w.set(x, p);
  }
  for (const [x, p] of w) w.set(x, p / z);
  return w;
}

/** Pearson χ² of `counts` against `pmf`, pooling the tails (cells with expected count < 5). */
function chiSquare(counts: Map<number, number>, pmf: Map<number, number>, n: number) {
  let stat = 0;
  let cells = 0;
  let tailObs = n;
  let tailExp = n;
  for (const [x, p] of pmf) {
    const e = p * n;
    if (e < 5) continue;
    const o = counts.get(x) ?? 0;
    stat += (o - e) ** 2 / e;
    cells++;
    tailObs -= o;
    tailExp -= e;
  }
  if (tailExp > 0) {
    stat += (tailObs - tailExp) ** 2 / tailExp;
    cells++;
  }
  return { stat, dof: cells - 1 };
}

/** Upper 0.1% point of χ²(dof), Wilson–Hilferty. */
function chiSquareCritical(dof: number): number {
  const z = 3.09;
  return dof * (1 - 2 / (9 * dof) + z * Math.sqrt(2 / (9 * dof))) ** 3;
}

function tally(draw: () => bigint, n: number): Map<number, number> {
  const c = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const x = Number(draw());
    c.set(x, (c.get(x) ?? 0) + 1);
  }
  return c;
}

describe("exact Bernoulli and discrete samplers", () => {
  it("isqrt is exact around perfect squares and for huge values", () => {
    for (const n of [0n, 1n, 2n, 3n, 4n, 15n, 16n, 17n, 10n ** 30n, 10n ** 30n - 1n, (1n << 80n) + 12345n]) {
      const r = isqrt(n);
      assert.ok(r * r <= n && (r + 1n) * (r + 1n) > n, `isqrt(${n}) = ${r}`);
    }
  });

  it("bernoulli(p) is exact: the fast path and the forced exact path agree with p", () => {
    const n = 200_000;
    for (const exactOnly of [false, true]) {
      const bits = insecureSeededBitsForTests(exactOnly ? 2 : 1);
      bits.exactOnly = exactOnly;
      const p = { num: 1n, den: 3n };
      let hits = 0;
      for (let i = 0; i < n; i++) if (bits.bernoulli(p)) hits++;
      const sd = Math.sqrt((n * 2) / 9);
      assert.ok(Math.abs(hits - n / 3) < 5 * sd, `exactOnly=${exactOnly}: ${hits} of ${n}`);
    }
  });

  it("the exact path decides a probability the float path cannot see (p = ½ + 2^-80)", () => {
    // Words that make the first draw k = 2^52 (U within 2^-53 of ½) and every later bit zero, so U = ½
    // exactly: only the exact comparison can tell ½ < ½ + 2^-80 apart, and ½ < ½ must be false.
    const words: WordSource = {
      fill(w) {
        w.fill(0);
        w[0] = 0x80000000;
      },
    };
    assert.equal(new RandomBits(words).bernoulli({ num: (1n << 79n) + 1n, den: 1n << 80n }), true);
    assert.equal(new RandomBits(words).bernoulli({ num: (1n << 79n) - 1n, den: 1n << 80n }), false);
    assert.equal(new RandomBits(words).bernoulli({ num: 1n, den: 2n }), false);
  });

  it("discrete Laplace(t = 3) matches its pmf (χ² at 0.1%)", () => {
    const n = 200_000;
    const bits = insecureSeededBitsForTests(3);
    const counts = tally(() => sampleDiscreteLaplace(bits, 3n), n);
    const pmf = new Map<number, number>();
    const a = Math.exp(-1 / 3);
    for (let x = -60; x <= 60; x++) pmf.set(x, ((1 - a) / (1 + a)) * a ** Math.abs(x));
    const { stat, dof } = chiSquare(counts, pmf, n);
    assert.ok(stat < chiSquareCritical(dof), `χ²=${stat.toFixed(1)} on ${dof} dof`);
  });

  for (const sigma2 of [0.6, 2.25, 40]) {
    it(`discrete Gaussian σ² = ${sigma2} matches its pmf (χ² at 0.1%), also on the exact-only path`, () => {
      const n = 150_000;
      for (const exactOnly of [false, true]) {
        const bits = insecureSeededBitsForTests(exactOnly ? 11 : 10);
        bits.exactOnly = exactOnly;
        const g = new DiscreteGaussian({ num: BigInt(Math.round(sigma2 * 100)), den: 100n });
        const counts = tally(() => g.sample(bits), exactOnly ? n / 3 : n);
        const m = exactOnly ? n / 3 : n;
        const { stat, dof } = chiSquare(counts, discreteGaussianPmf(sigma2, 200), m);
        assert.ok(
          stat < chiSquareCritical(dof),
          `exactOnly=${exactOnly}: χ²=${stat.toFixed(1)} on ${dof} dof`,
        );
      }
    });
  }

  it("the χ² check has power: it rejects a discrete Gaussian of 5% larger variance", () => {
    const n = 150_000;
    const bits = insecureSeededBitsForTests(12);
    const g = new DiscreteGaussian({ num: 2100n, den: 1000n });
    const { stat, dof } = chiSquare(
      tally(() => g.sample(bits), n),
      discreteGaussianPmf(2, 200),
      n,
    );
    assert.ok(stat > chiSquareCritical(dof));
  });

  it("σ = 10^5 (the training scale): mean, variance, and tail mass beyond 3σ", () => {
    const n = 200_000;
    const sigma = 1e5;
    const g = DiscreteGaussian.ofStd(sigma);
    const bits = secureRandomBits();
    let s = 0;
    let s2 = 0;
    let tail = 0;
    for (let i = 0; i < n; i++) {
      const x = Number(g.sample(bits));
      s += x;
      s2 += x * x;
      if (Math.abs(x) > 3 * sigma) tail++;
    }
    const mean = s / n;
    const variance = s2 / n - mean * mean;
    assert.ok(Math.abs(mean) < (5 * sigma) / Math.sqrt(n), `mean ${mean}`);
    assert.ok(
      Math.abs(variance / sigma ** 2 - 1) < 5 * Math.sqrt(2 / n),
      `variance ratio ${variance / sigma ** 2}`,
    );
    const expected = 2 * normalSf(3) * n;
    assert.ok(
      Math.abs(tail - expected) < 5 * Math.sqrt(expected),
      `tail ${tail}, expected ${expected.toFixed(0)}`,
    );
  });

  // σ² = 2 makes t = 2 and γ = (|y| − 1)²/4: |y| ≤ 2 takes the exact acceptance (|y|·t near σ²) and
  // |y| = 3, 5 give integer γ (1, 4), the case where the float sampler defers to the BigInt one.
  for (const variance of [
    { num: 2n, den: 1n },
    { num: 60n, den: 100n },
    { num: 4000n, den: 100n },
    DiscreteGaussian.ofStd(130).variance,
    DiscreteGaussian.ofStd(1e5).variance,
    DiscreteGaussian.ofStd(4_339_366.3).variance, // the full scheme's lattice σ at ε = 8
  ]) {
    const label = `σ² = ${variance.num}/${variance.den}`;
    it(`the float sampler returns the BigInt reference's draws from the same bits (${label})`, () => {
      const g = new DiscreteGaussian(variance);
      for (const [exactOnly, n] of [
        [false, 30_000],
        [true, 2_000],
      ] as const) {
        const a = insecureSeededBitsForTests(20);
        const b = insecureSeededBitsForTests(20);
        a.exactOnly = b.exactOnly = exactOnly;
        for (let i = 0; i < n; i++) {
          const fast = g.sampleNumber(a);
          const reference = g.sampleReference(b);
          assert.equal(BigInt(fast), reference, `draw ${i}, exactOnly=${exactOnly}`);
        }
        // Same bits consumed: the next word of both streams is the same.
        assert.equal(a.word(), b.word(), `exactOnly=${exactOnly}: streams out of step`);
      }
    });
  }

  it("the comparison above has power: a sampler one bit out of step disagrees at once", () => {
    const g = DiscreteGaussian.ofStd(1e5);
    const a = insecureSeededBitsForTests(21);
    const b = insecureSeededBitsForTests(21);
    b.word();
    let same = 0;
    for (let i = 0; i < 100; i++) if (g.sampleNumber(a) === Number(g.sampleReference(b))) same++;
    assert.ok(same < 5, `${same} of 100 equal`);
  });

  it("beyond the float sampler's range (t > 2^40) the BigInt reference draws", () => {
    const sigma = 2 ** 41;
    const g = DiscreteGaussian.ofStd(sigma);
    const bits = insecureSeededBitsForTests(22);
    for (let i = 0; i < 20; i++) assert.ok(Math.abs(g.sampleNumber(bits)) < 10 * sigma);
  });

  it("ofStd never rounds σ² down", () => {
    for (const s of [1e-4, 0.3, 1, 7.77, 1234.5678, 3e6]) {
      const v = DiscreteGaussian.ofStd(s).variance;
      assert.ok(Number(v.num) / Number(v.den) >= s * s, `σ=${s}`);
    }
  });
});

describe("lattice Gaussian mechanism", () => {
  it("noise drawn ahead releases exactly what addLatticeGaussian releases from the same bits, once", async () => {
    const x = Float64Array.from({ length: 5000 }, (_, i) => Math.cos(i) * 2.5);
    const o = { std: 1.3, sensitivity: 1 };
    const direct = [x.slice(0, 3000), x.slice(3000)];
    const planA = addLatticeGaussian(direct, o, insecureSeededBitsForTests(31));
    // Drawn in chunks of 1000 with the event loop turning between them.
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    const noise = await drawLatticeNoise(5000, o, insecureSeededBitsForTests(31), 1000);
    clearInterval(timer);
    const ahead = [x.slice(0, 3000), x.slice(3000)];
    const planB = addLatticeNoise(ahead, noise, o);
    assert.deepEqual(planB, planA);
    assert.deepEqual(ahead, direct);
    assert.ok(turns >= 1, "other tasks ran while the noise was drawn");
    assert.throws(() => addLatticeNoise([x.slice()], noise, o), /already used/);
  });

  it("noise drawn in shares (as DP-step workers do) is the whole release's noise: same plan, same sampler", async () => {
    const o = { std: 1.3, sensitivity: 1 };
    const whole = (await drawLatticeNoise(5000, o, insecureSeededBitsForTests(41))).take();
    // A share from the same bits is the start of the same sequence: the plan is the whole release's,
    // not a 2,000-dimensional one (whose grid, hence integer σ, would differ).
    const share = drawLatticeNoiseShare(5000, 2000, o, insecureSeededBitsForTests(41));
    assert.deepEqual(share, whole.subarray(0, 2000));
    assert.notEqual(planLattice(2000, o).latticeStd, planLattice(5000, o).latticeStd);
    // Shares laid end to end release exactly as the same draws drawn at once.
    const rest = whole.slice(2000);
    const noise = latticeNoiseFromShares(5000, o, [share, rest]);
    assert.equal(share[0], 0, "a share is wiped once taken into the release");
    const x = Float64Array.from({ length: 5000 }, (_, i) => Math.cos(i) * 2.5);
    const direct = [x.slice()];
    addLatticeGaussian(direct, o, insecureSeededBitsForTests(41));
    const viaShares = [x.slice()];
    addLatticeNoise(viaShares, noise, o);
    assert.deepEqual(viaShares, direct);
    assert.throws(
      () => latticeNoiseFromShares(5000, o, [new Float64Array(10)]),
      /shares hold 10 draws for a 5000-dimensional release/,
    );
    assert.throws(() => drawLatticeNoiseShare(10, 11, o), /a share of 11 draws of a 10-dimensional release/);
  });

  it("noise drawn for one release is refused for another (dimension, σ or Δ)", async () => {
    const o = { std: 1, sensitivity: 1 };
    for (const [parts, other] of [
      [[new Float64Array(9)], o],
      [[new Float64Array(10)], { std: 2, sensitivity: 1 }],
      [[new Float64Array(10)], { std: 1, sensitivity: 0.5 }],
    ] as const) {
      const noise = await drawLatticeNoise(10, o, insecureSeededBitsForTests(32));
      assert.throws(() => addLatticeNoise(parts, noise, other), /cannot release/);
    }
  });

  it("releases only grid points, whatever the input", () => {
    const x = Float64Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3.3 + 1e-9 * i);
    const plan = addLatticeGaussian([x], { std: 2, sensitivity: 1 }, insecureSeededBitsForTests(5));
    assert.ok(Number.isInteger(Math.log2(plan.grid)), "grid is a power of two");
    for (const v of x) assert.equal(Number.isInteger(v / plan.grid), true, `${v} is not on the grid`);
  });

  it("the grid keeps the rounding cost at most 1/GRID_RATIO of Δ, and σ is inflated by exactly that", () => {
    for (const [d, std, s] of [
      [1, 0.5, 0.5],
      [7, 3, 1],
      [300_000, 1.1, 1],
      [1_000_000, 40, 0.01],
    ] as const) {
      const p = planLattice(d, { std, sensitivity: s });
      const rounding = p.grid * Math.sqrt(d);
      assert.ok(rounding <= s / GRID_RATIO, `d=${d}: γ√d=${rounding}`);
      // The grid is the coarsest power of two meeting both limits (rounding cost, σ/γ ≥ 128).
      assert.ok(2 * p.grid > Math.min(s / GRID_RATIO / Math.sqrt(d), std / 128), "grid needlessly fine");
      assert.ok(Math.abs(p.noiseInflation - (1 + rounding / s)) < 1e-15);
      assert.ok(Math.abs(p.latticeStd - (std * p.noiseInflation) / p.grid) < 1e-9 * p.latticeStd);
      assert.ok(p.latticeStd >= 64);
    }
  });

  it("noise has mean 0 and standard deviation σ·inflation; neighbouring inputs shift the mean by their distance", () => {
    const d = 20_000;
    const std = 0.8;
    const a = new Float64Array(d);
    const b = new Float64Array(d).fill(0.01); // ‖a − b‖ = 0.01·√d = 1.41
    const bitsA = insecureSeededBitsForTests(21);
    const bitsB = insecureSeededBitsForTests(21);
    const pa = addLatticeGaussian([a], { std, sensitivity: 1.5 }, bitsA);
    addLatticeGaussian([b], { std, sensitivity: 1.5 }, bitsB);
    let s = 0;
    let s2 = 0;
    let shift = 0;
    for (let i = 0; i < d; i++) {
      s += a[i]!;
      s2 += a[i]! ** 2;
      shift += b[i]! - a[i]!;
    }
    assert.ok(Math.abs(s / d) < (5 * std) / Math.sqrt(d));
    const sd = Math.sqrt(s2 / d);
    assert.ok(Math.abs(sd / (std * pa.noiseInflation) - 1) < 5 / Math.sqrt(2 * d), `sd ${sd}`);
    // Same seed → same integer noise, so the outputs differ by the snapped inputs only.
    assert.ok(Math.abs(shift / d - 0.01) <= pa.grid, `mean shift ${shift / d}`);
  });

  it("one vector over several arrays uses the total dimension", () => {
    const parts = [new Float32Array(10), new Float32Array(90)];
    const whole = addLatticeGaussian(parts, { std: 1, sensitivity: 1 }, insecureSeededBitsForTests(1));
    assert.deepEqual(whole, planLattice(100, { std: 1, sensitivity: 1 }));
  });

  it("refuses to release NaN, ±Infinity or a value beyond exact grid arithmetic", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -Number.POSITIVE_INFINITY, 1e300]) {
      assert.throws(
        () => addLatticeGaussian([Float64Array.of(0, bad)], { std: 1, sensitivity: 1 }),
        /cannot be released exactly/,
      );
    }
    assert.throws(() => latticeGaussianScalar(0, { std: 0, sensitivity: 1 }), /std must be positive/);
    assert.throws(() => latticeGaussianScalar(0, { std: 1, sensitivity: 0 }), /sensitivity must be positive/);
  });
});

describe("uniform draws", () => {
  const constant = (v: number): WordSource => ({
    fill(w) {
      w.fill(v);
    },
  });

  it("never return 1 (all-ones words) nor 0 (all-zero words)", () => {
    const hi = new GaussianSampler(constant(0xffffffff)).uniform();
    const lo = new GaussianSampler(constant(0)).uniform();
    assert.ok(hi < 1, `largest uniform is ${hi}`);
    assert.ok(lo > 0, `smallest uniform is ${lo}`);
    assert.equal(hi, 1 - 2 ** -53);
    assert.equal(lo, 2 ** -53);
  });

  it("are uniform (mean and a decile histogram)", () => {
    const g = new GaussianSampler(insecureSeededWordsForTests(4));
    const n = 200_000;
    const bins = new Array(10).fill(0);
    for (let i = 0; i < n; i++) bins[Math.floor(g.uniform() * 10)]++;
    for (const b of bins) assert.ok(Math.abs(b - n / 10) < 5 * Math.sqrt(n / 10));
  });
});
