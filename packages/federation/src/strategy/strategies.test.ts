import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FedAdam, ServerSgd } from "../server-optimizer.js";
import { insecureSeededRandomForTests } from "../testing/insecure-seeded-random.js";
import { assertCompatible, l2Norm, type Weights } from "../weights.js";
import { CENTRED_COUNT_SENSITIVITY, nextClipNorm, updateNoiseMultiplier } from "./adaptive-clip.js";
import { FedAvg } from "./fedavg.js";
import type { FitResult, NodeInfo, RoundContext } from "./types.js";
import { UserLevelDp } from "./user-level-dp.js";

const w = (a: number[], b: number[]): Weights => ({ a: Float32Array.from(a), b: Float32Array.from(b) });
const nodes = (n: number): NodeInfo[] => Array.from({ length: n }, (_, i) => ({ id: `n${i}` }));
const ctx = (n: number): RoundContext => ({ round: 1, global: w([0, 0], [0]), nodes: nodes(n) });
const result = (id: string, delta: Weights, unclipped: boolean | null = null): FitResult => ({
  nodeId: id,
  delta,
  unclipped,
});

describe("FedAvg", () => {
  it("averages updates with equal weights (no example counts exist to weight by)", () => {
    const s = new FedAvg();
    const out = s.aggregateFit(ctx(2), [result("n0", w([1, 2], [3])), result("n1", w([4, 5], [6]))], []);
    assert.deepEqual(Array.from(out.delta.a!), [2.5, 3.5]);
    assert.deepEqual(Array.from(out.delta.b!), [4.5]);
    assert.equal(out.metrics.participants, 2);
  });

  it("bounds each update's norm before averaging", () => {
    const s = new FedAvg({ updateNormBound: 1 });
    const out = s.aggregateFit(ctx(1), [result("n0", w([30, 40], [0]))], []);
    assert.ok(Math.abs(l2Norm(out.delta) - 1) < 1e-6);
    assert.equal(out.metrics.updatesClipped, 1);
  });

  it("dictates local DP settings and emits one example-level event per selected node", () => {
    const s = new FedAvg({
      localDp: {
        noiseMultiplier: 1.1,
        perExampleClip: 1,
        sampleRate: 0.01,
        expectedBatchSize: 10,
        steps: 20,
      },
    });
    const plan = s.configureFit(ctx(3));
    assert.equal(plan.tasks.length, 3);
    assert.deepEqual(
      plan.events.map((e) => [e.unit, e.subject, e.steps]),
      [
        ["example", "n0", 20],
        ["example", "n1", 20],
        ["example", "n2", 20],
      ],
    );
  });

  it("samples a uniform fraction of nodes", () => {
    const s = new FedAvg({ fraction: 0.5, random: insecureSeededRandomForTests(3) });
    const counts = new Map<string, number>();
    for (let r = 0; r < 2000; r++) {
      const plan = s.configureFit(ctx(4));
      assert.equal(plan.tasks.length, 2);
      for (const t of plan.tasks) counts.set(t.nodeId, (counts.get(t.nodeId) ?? 0) + 1);
    }
    for (const c of counts.values()) assert.ok(Math.abs(c / 2000 - 0.5) < 0.05, `selection rate ${c / 2000}`);
  });
});

describe("UserLevelDp (DP-FedAvg)", () => {
  const make = (seed: number, extra: Partial<ConstructorParameters<typeof UserLevelDp>[1]> = {}) =>
    new UserLevelDp(new FedAvg(), {
      noiseMultiplier: 1,
      sampleRate: 0.5,
      updateClip: 1,
      random: insecureSeededRandomForTests(seed),
      ...extra,
    });

  it("Poisson-samples nodes: participant count varies with mean q·N", () => {
    const s = make(1);
    const sizes: number[] = [];
    for (let r = 0; r < 4000; r++) sizes.push(s.configureFit(ctx(10)).tasks.length);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    const variance = sizes.reduce((a, b) => a + (b - mean) ** 2, 0) / sizes.length;
    assert.ok(Math.abs(mean - 5) < 0.15, `mean ${mean}`);
    assert.ok(Math.abs(variance - 2.5) < 0.3, `variance ${variance} (binomial: 2.5)`);
  });

  it("tells nodes the clip norm and charges one user-level event per round", () => {
    const plan = make(2).configureFit(ctx(10));
    for (const t of plan.tasks) assert.equal(t.config.updateClip, 1);
    assert.deepEqual(plan.events, [
      { unit: "user", subject: "*", noiseMultiplier: 1, sampleRate: 0.5, steps: 1 },
    ]);
  });

  it("re-clips, sums with equal weights, and divides by the fixed denominator q·N", () => {
    // Mean over many noisy aggregates converges to Σ clip(Δᵢ)/m whatever the example counts are.
    const s = make(4);
    const reps = 4000;
    const acc = [0, 0, 0];
    for (let r = 0; r < reps; r++) {
      s.configureFit(ctx(8)); // m = 0.5 · 8 = 4
      const out = s.aggregateFit(
        ctx(8),
        [result("n0", w([0.6, 0], [0])), result("n1", w([0, 30], [40]))], // second: norm 50 → clipped to 1
        [],
      );
      acc[0]! += out.delta.a![0]!;
      acc[1]! += out.delta.a![1]!;
      acc[2]! += out.delta.b![0]!;
    }
    const expect = [0.6 / 4, 0.6 / 4, 0.8 / 4];
    // noise std on the mean is z·S/m = 0.25, so the mean of 4000 has std 0.004
    for (const [i, v] of acc.entries()) {
      assert.ok(Math.abs(v / reps - expect[i]!) < 0.02, `coord ${i}: ${v / reps} vs ${expect[i]}`);
    }
  });

  it("adds Gaussian noise of std z·S/m to the mean", () => {
    const s = make(5, { noiseMultiplier: 2, updateClip: 3 });
    s.configureFit(ctx(12)); // m = 6
    const big: Weights = { a: new Float32Array(200_000) };
    const out = s.aggregateFit({ round: 1, global: big, nodes: nodes(12) }, [], []);
    const v = out.delta.a!;
    let m2 = 0;
    for (const x of v) m2 += x * x;
    const std = Math.sqrt(m2 / v.length);
    assert.ok(Math.abs(std - (2 * 3) / 6) < 0.01, `std ${std}`);
    assert.equal(out.metrics.noiseStdOnMean, 1);
    assert.ok(v.some((x) => x !== 0));
  });

  it("releases only the noised aggregate and data-independent facts (no count of clipped updates)", () => {
    const s = make(8);
    s.configureFit(ctx(4));
    const out = s.aggregateFit(ctx(4), [result("n0", w([30, 40], [0]))], []);
    assert.deepEqual(Object.keys(out.metrics).sort(), [
      "aggregateNorm",
      "clipNorm",
      "expectedParticipants",
      "failures",
      "noiseStdOnMean",
      "participants",
    ]);
  });

  it("splits the noise for adaptive clipping so the total multiplier is unchanged", () => {
    const z = 1.2;
    const sb = 2;
    const zd = updateNoiseMultiplier(z, sb);
    assert.ok(Math.abs(zd ** -2 + (2 * sb) ** -2 - z ** -2) < 1e-12);
    assert.ok(zd > z);
    assert.throws(() => updateNoiseMultiplier(1, 0.4), /too small/);
  });

  it("adaptive clipping: the ledger's charge equals the multiplier measured from the released quantities", () => {
    // Measure, from what the strategy releases, each mechanism's sensitivity (same noise seed with and
    // without one more user) and noise std (many releases), and combine them into the effective
    // multiplier z_eff = (Σ (Δₖ/σₖ)²)^(-1/2). It must be the z the user-level event charges.
    const z = 1.2;
    const countNoiseStd = Math.max(z, 1); // the CLI's default σ_b
    const adaptive = { targetQuantile: 0.5, learningRate: 0.2, countNoiseStd };
    const N = 80;
    const big = (v: number): Weights => ({ a: new Float32Array(50_000).fill(v) });
    const zero: RoundContext = { round: 1, global: big(0), nodes: nodes(N) };
    const strategy = (seed: number) =>
      new UserLevelDp(new FedAvg(), {
        noiseMultiplier: z,
        sampleRate: 0.5,
        updateClip: 1,
        adaptive,
        random: insecureSeededRandomForTests(seed),
      });
    const charged = strategy(1).configureFit(zero).events;
    assert.equal(charged.length, 1);
    const base = Array.from({ length: 20 }, (_, i) => result(`n${i}`, big(0), i % 2 === 0));
    const release = (seed: number, results: FitResult[]) => {
      const s = strategy(seed);
      s.configureFit(zero); // m = 0.5 · 80 = 40: the released fraction stays inside (0, 1)
      const out = s.aggregateFit(zero, results, []);
      return { sum: out.delta.a!, count: (out.metrics.unclippedFractionEstimate! - 0.5) * 40 };
    };
    // Sensitivities: one more user whose update has norm ≥ S, with bit 1 or bit 0.
    const userUpdate = { a: new Float32Array(50_000) };
    userUpdate.a[0] = 5;
    const r0 = release(7, base);
    const r1 = release(7, [...base, result("x", userUpdate, true)]);
    const r2 = release(7, [...base, result("x", userUpdate, false)]);
    const countSensitivity = Math.max(Math.abs(r1.count - r0.count), Math.abs(r2.count - r0.count));
    let shift = 0;
    for (let i = 0; i < r0.sum.length; i++) shift += ((r1.sum[i]! - r0.sum[i]!) * 40) ** 2;
    const updateSensitivity = Math.sqrt(shift);
    assert.ok(Math.abs(countSensitivity - CENTRED_COUNT_SENSITIVITY) < 1e-3, `count Δ ${countSensitivity}`);
    assert.ok(Math.abs(updateSensitivity - 1) < 1e-3, `update Δ ${updateSensitivity}`);
    // Noise: the update noise std from one big release, the count noise std from many.
    let m2 = 0;
    for (const x of r0.sum) m2 += (x * 40) ** 2;
    const updateStd = Math.sqrt(m2 / r0.sum.length);
    const counts: number[] = [];
    for (let seed = 100; seed < 4100; seed++) counts.push(release(seed, []).count);
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    const countStd = Math.sqrt(counts.reduce((a, b) => a + (b - mean) ** 2, 0) / (counts.length - 1));
    const effective = ((updateSensitivity / updateStd) ** 2 + (countSensitivity / countStd) ** 2) ** -0.5;
    assert.ok(
      Math.abs(effective / charged[0]!.noiseMultiplier - 1) < 0.03,
      `released mechanism has multiplier ${effective.toFixed(4)}, the ledger charges ${charged[0]!.noiseMultiplier}`,
    );
  });

  it("adaptive clipping moves C the right way every round: raw norms all above C → grows, all below → shrinks", () => {
    const opts = { targetQuantile: 0.5, learningRate: 0.2, countNoiseStd: 1 }; // σ_b = m/20
    const rnd = insecureSeededRandomForTests(9);
    const m = 20;
    let c = 1;
    for (let r = 0; r < 10; r++) {
      const next = nextClipNorm(c, new Array(m).fill(false), m, opts, rnd).clipNorm; // every raw norm 10·C
      // b̄ ≈ 0 ± 0.05 (clamped at 0): C grows by e^{0.2·(0.5 − b̄)} ∈ (e^{0.06}, e^{0.1}].
      assert.ok(next / c > Math.exp(0.06) && next / c <= Math.exp(0.1) + 1e-12, `round ${r}: ×${next / c}`);
      c = next;
    }
    for (let r = 0; r < 10; r++) {
      const next = nextClipNorm(c, new Array(m).fill(true), m, opts, rnd).clipNorm; // every raw norm C/10
      assert.ok(next / c < Math.exp(-0.06) && next / c >= Math.exp(-0.1) - 1e-12, `round ${r}: ×${next / c}`);
      c = next;
    }
  });

  it("adaptive clipping tracks the target quantile of the raw norms", () => {
    const rnd = insecureSeededRandomForTests(10);
    const opts = { targetQuantile: 0.5, learningRate: 0.2, countNoiseStd: 0.01 };
    let c = 0.5;
    const norms = [1, 2, 3, 4, 5, 6, 7, 8, 9]; // median 5
    for (let r = 0; r < 300; r++)
      c = nextClipNorm(
        c,
        norms.map((n) => n <= c),
        norms.length,
        opts,
        rnd,
      ).clipNorm;
    assert.ok(c > 4 && c < 6.2, `clip norm ${c}`);
  });

  it("persists the adaptive clip norm across a restart", () => {
    const adaptive = { targetQuantile: 0.5, learningRate: 0.2, countNoiseStd: 2 };
    const a = make(6, { adaptive });
    a.configureFit(ctx(4));
    a.aggregateFit(ctx(4), [result("n0", w([0.01, 0], [0]), true)], []);
    assert.notEqual(a.currentClipNorm, 1);
    const b = make(7, { adaptive });
    b.loadState(JSON.parse(JSON.stringify(a.saveState())));
    assert.equal(b.currentClipNorm, a.currentClipNorm);
    assert.throws(() => b.loadState({ clipNorm: -1 }), /bad clipNorm/);
  });

  it("rejects impossible settings at construction", () => {
    assert.throws(() => make(1, { sampleRate: 0 }), /sampleRate/);
    assert.throws(() => make(1, { noiseMultiplier: 0 }), /noiseMultiplier/);
    assert.throws(
      () =>
        make(1, {
          noiseMultiplier: 5,
          adaptive: { targetQuantile: 0.5, learningRate: 0.2, countNoiseStd: 1 },
        }),
      /too small/,
    );
  });
});

describe("server optimisers", () => {
  it("FedAvg step adds η·Δ", () => {
    const out = new ServerSgd(0.5).apply(w([1, 1], [1]), w([2, -2], [4]));
    assert.deepEqual(Array.from(out.a!), [2, 0]);
    assert.deepEqual(Array.from(out.b!), [3]);
  });

  it("FedAdam matches a hand computation and survives save/load", () => {
    const opt = new FedAdam({ learningRate: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
    const x1 = opt.apply(w([0, 0], [0]), w([1, -2], [0]));
    // m = 0.1Δ, v = 0.01Δ², step = 0.1·m/(√v+τ) = 0.1·0.1Δ/(0.1|Δ|+1e-3)
    const step = (d: number) => (0.1 * 0.1 * d) / (0.1 * Math.abs(d) + 1e-3);
    assert.ok(Math.abs(x1.a![0]! - step(1)) < 1e-6);
    assert.ok(Math.abs(x1.a![1]! - step(-2)) < 1e-6);
    const twin = new FedAdam({ learningRate: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
    twin.loadState(JSON.parse(JSON.stringify(opt.saveState())));
    const next = w([0.5, 0.5], [1]);
    assert.deepEqual(opt.apply(x1, next), twin.apply(x1, next));
  });
});

describe("weights validation", () => {
  const like = w([0, 0], [0]);
  it("accepts a matching update", () => assertCompatible(w([1, 2], [3]), like));
  it("rejects unknown, missing, wrong-size and non-finite tensors", () => {
    assert.throws(
      () => assertCompatible({ ...w([1, 2], [3]), c: new Float32Array(1) }, like),
      /unknown tensor "c"/,
    );
    assert.throws(() => assertCompatible({ a: new Float32Array(2) }, like), /missing tensor "b"/);
    assert.throws(() => assertCompatible(w([1], [3]), like), /has 1 values, expected 2/);
    assert.throws(() => assertCompatible(w([1, Number.NaN], [3]), like), /non-finite/);
  });
});
