import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FedAdam, ServerSgd } from "../server-optimizer.js";
import { insecureSeededRandomForTests } from "../testing/insecure-seeded-random.js";
import { assertCompatible, l2Norm, type Weights } from "../weights.js";
import { nextClipNorm, updateNoiseMultiplier } from "./adaptive-clip.js";
import { FedAvg } from "./fedavg.js";
import type { FitResult, NodeInfo, RoundContext } from "./types.js";
import { UserLevelDp } from "./user-level-dp.js";

const w = (a: number[], b: number[]): Weights => ({ a: Float32Array.from(a), b: Float32Array.from(b) });
const nodes = (n: number): NodeInfo[] =>
  Array.from({ length: n }, (_, i) => ({ id: `n${i}`, numExamples: 10 }));
const ctx = (n: number): RoundContext => ({ round: 1, global: w([0, 0], [0]), nodes: nodes(n) });
const result = (id: string, delta: Weights, numExamples = 10): FitResult => ({
  nodeId: id,
  delta,
  numExamples,
  metrics: { loss: 1 },
});

describe("FedAvg", () => {
  it("averages updates weighted by example count", () => {
    const s = new FedAvg();
    const out = s.aggregateFit(
      ctx(2),
      [result("n0", w([1, 2], [3]), 10), result("n1", w([4, 5], [6]), 30)],
      [],
    );
    assert.deepEqual(Array.from(out.delta.a!), [0.25 * 1 + 0.75 * 4, 0.25 * 2 + 0.75 * 5]);
    assert.deepEqual(Array.from(out.delta.b!), [0.25 * 3 + 0.75 * 6]);
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
      localDp: () => ({ noiseMultiplier: 1.1, clipNorm: 1, sampleRate: 0.01, steps: 20 }),
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
      clipNorm: 1,
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
    for (const t of plan.tasks) assert.equal(t.config.updateClipNorm, 1);
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
        [result("n0", w([0.6, 0], [0]), 1), result("n1", w([0, 30], [40]), 1000)], // second: norm 50 → clipped to 1
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
    const s = make(5, { noiseMultiplier: 2, clipNorm: 3 });
    s.configureFit(ctx(12)); // m = 6
    const big: Weights = { a: new Float32Array(200_000) };
    const out = s.aggregateFit({ round: 1, global: big, nodes: nodes(12) }, [], []);
    const v = out.delta.a!;
    let m2 = 0;
    for (const x of v) m2 += x * x;
    const std = Math.sqrt(m2 / v.length);
    assert.ok(Math.abs(std - (2 * 3) / 6) < 0.01, `std ${std}`);
    assert.equal(out.metrics.noiseStdOnMean, 1);
  });

  it("splits the noise for adaptive clipping so the total multiplier is unchanged", () => {
    const z = 1.2;
    const sb = 2;
    const zd = updateNoiseMultiplier(z, sb);
    assert.ok(Math.abs(zd ** -2 + (2 * sb) ** -2 - z ** -2) < 1e-12);
    assert.ok(zd > z);
    assert.throws(() => updateNoiseMultiplier(1, 0.4), /too small/);
  });

  it("moves the clip norm in the right direction and tracks the target quantile", () => {
    const rnd = insecureSeededRandomForTests(9);
    const opts = { targetQuantile: 0.5, learningRate: 0.2, countNoiseStd: 0.01 };
    // All updates fit under C: C is above the median and must shrink.
    assert.ok(nextClipNorm(10, [1, 2, 3, 4], 4, opts, rnd).clipNorm < 10);
    // No update fits: C must grow.
    assert.ok(nextClipNorm(0.1, [1, 2, 3, 4], 4, opts, rnd).clipNorm > 0.1);
    // Over rounds it converges near the median of the norm distribution (here norms 1..9, median 5).
    let c = 0.5;
    const norms = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    for (let r = 0; r < 300; r++) c = nextClipNorm(c, norms, norms.length, opts, rnd).clipNorm;
    assert.ok(c > 4 && c < 6.2, `clip norm ${c}`);
  });

  it("persists the adaptive clip norm across a restart", () => {
    const adaptive = { targetQuantile: 0.5, learningRate: 0.2, countNoiseStd: 2 };
    const a = make(6, { adaptive });
    a.configureFit(ctx(4));
    a.aggregateFit(ctx(4), [result("n0", w([0.01, 0], [0]))], []);
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
