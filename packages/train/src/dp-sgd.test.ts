import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createAccountant } from "@memarc/privacy";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { LogisticRegression } from "./baselines/logistic-regression.js";
import { trainDpSgd } from "./dp-sgd.js";
import type { TrainableModel } from "./model.js";
import { Adam, Sgd } from "./optimizers.js";
import { makeSchedule } from "./schedule.js";
import { insecureSeededTrainingRandomForTests } from "./testing/insecure-random.js";

before(async () => {
  await initBackend({ log: null });
});

/** A model whose per-example gradient is a fixed vector per example: exact expectations are known. */
function fixedGradientModel(perExample: Float32Array[], size: number): TrainableModel & { p: tf.Variable } {
  const p = tf.variable(tf.zeros([size]));
  const sumOf = (idx: Int32Array, clip: number) => {
    const acc = new Float32Array(size);
    const norms = new Float32Array(idx.length);
    idx.forEach((i, r) => {
      const g = perExample[i]!;
      const n = Math.hypot(...g);
      norms[r] = n;
      const c = Math.min(1, clip / n);
      for (let k = 0; k < size; k++) acc[k]! += c * g[k]!;
    });
    return { acc, norms };
  };
  return {
    p,
    params: new Map([["p", p]]),
    clippedGradients(idx, clip) {
      const { acc, norms } = sumOf(idx, clip);
      return { clippedSum: new Map([["p", tf.tensor(acc)]]), norms, lossSum: idx.length };
    },
    gradients(idx) {
      return { sum: new Map([["p", tf.tensor(sumOf(idx, Infinity).acc)]]), lossSum: idx.length };
    },
  };
}

describe("DP-SGD engine", () => {
  it("adds noise of std z·C/(qN) to the mean gradient", async () => {
    const size = 50_000;
    const m = fixedGradientModel([new Float32Array(size)], size); // one example, zero gradient
    const cfg = {
      datasetSize: 1,
      sampleRate: 0.5,
      noiseMultiplier: 2,
      clipNorm: 0.25,
      maxPhysicalBatch: 8,
      steps: 1,
    };
    await trainDpSgd({
      model: m,
      config: cfg,
      optimizer: new Sgd(),
      schedule: () => 1,
      random: insecureSeededTrainingRandomForTests(1),
    });
    const v = Array.from(m.p.dataSync());
    const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    assert.ok(Math.abs(std - (2 * 0.25) / 0.5) < 0.01, `std ${std}`); // zC/(qN) = 0.5/0.5 = 1
  });

  it("clips every example to C and divides by the expected batch size, not the sampled one", async () => {
    // N = 4 examples, gradients of norm 5 along one axis each; C = 1; q = 1 → every example sampled.
    const grads = [0, 1, 2, 3].map((k) => Float32Array.from([0, 0, 0, 0].map((_, j) => (j === k ? 5 : 0))));
    const m = fixedGradientModel(grads, 4);
    const noNoise = {
      ...insecureSeededTrainingRandomForTests(2),
      addNoise: () => {},
    };
    const cfg = {
      datasetSize: 4,
      sampleRate: 1,
      noiseMultiplier: 1,
      clipNorm: 1,
      maxPhysicalBatch: 3,
      steps: 1,
    };
    await trainDpSgd({ model: m, config: cfg, optimizer: new Sgd(), schedule: () => 1, random: noNoise });
    assert.deepEqual(Array.from(m.p.dataSync()), [-0.25, -0.25, -0.25, -0.25]);

    // q = 0.5 with only example 0 sampled: the denominator stays q·N = 2.
    const m2 = fixedGradientModel(grads, 4);
    const only0 = { ...noNoise, poissonSample: () => Int32Array.from([0]) };
    await trainDpSgd({
      model: m2,
      config: { ...cfg, sampleRate: 0.5 },
      optimizer: new Sgd(),
      schedule: () => 1,
      random: only0,
    });
    assert.deepEqual(Array.from(m2.p.dataSync()), [-0.5, 0, 0, 0]);
  });

  it("takes a pure-noise step when the Poisson batch is empty", async () => {
    const m = fixedGradientModel([Float32Array.from([1, 1])], 2);
    const empty = { ...insecureSeededTrainingRandomForTests(3), poissonSample: () => new Int32Array(0) };
    const steps: number[] = [];
    const r = await trainDpSgd({
      model: m,
      config: {
        datasetSize: 1,
        sampleRate: 0.1,
        noiseMultiplier: 1,
        clipNorm: 1,
        maxPhysicalBatch: 4,
        steps: 2,
      },
      optimizer: new Sgd(),
      schedule: () => 1,
      random: empty,
      onStep: (s) => steps.push(s.batchSize),
    });
    assert.equal(r.stepsTaken, 2);
    assert.deepEqual(steps, [0, 0]);
    assert.ok(
      m.p.dataSync().some((x) => x !== 0),
      "noise must still move the parameters",
    );
  });

  it("charges every noisy step and stops exactly at the budget", async () => {
    const m = fixedGradientModel([Float32Array.from([1])], 1);
    const config = {
      datasetSize: 1,
      sampleRate: 0.1,
      noiseMultiplier: 2,
      clipNorm: 1,
      maxPhysicalBatch: 1,
      steps: 500,
    };
    const budget = { epsilon: 2, delta: 1e-5 };
    // The reference: the largest k whose ε is within the budget, by the accountant itself.
    const ref = createAccountant("rdp");
    let k = 0;
    while (ref.canSpend({ noiseMultiplier: 2, sampleRate: 0.1, steps: k + 1 }, budget)) k++;
    assert.ok(k > 10 && k < 500, `k ${k}`);
    const accountant = createAccountant("rdp");
    const taken: number[] = [];
    const r = await trainDpSgd({
      model: m,
      config,
      optimizer: new Sgd(),
      schedule: () => 0.1,
      random: insecureSeededTrainingRandomForTests(4),
      accountant,
      budget,
      onStep: (s) => taken.push(s.step),
    });
    assert.equal(r.stepsTaken, k);
    assert.ok(r.stoppedByBudget);
    assert.equal(accountant.totalSteps, k);
    assert.ok(accountant.getEpsilon(budget.delta) <= budget.epsilon);
    assert.deepEqual(
      taken,
      Array.from({ length: k }, (_, i) => i),
    );
    // Without noise there is nothing to charge: the accountant stays untouched.
    const plain = createAccountant("rdp");
    await trainDpSgd({
      model: m,
      config: { ...config, noiseMultiplier: 0, clipNorm: Number.POSITIVE_INFINITY, steps: 3 },
      optimizer: new Sgd(),
      schedule: () => 0.1,
      random: insecureSeededTrainingRandomForTests(4),
      accountant: plain,
      budget,
    });
    assert.equal(plain.totalSteps, 0);
  });

  it("does not leak tensors across steps", async () => {
    const m = fixedGradientModel([Float32Array.from([1, 2]), Float32Array.from([3, 4])], 2);
    const before = tf.memory().numTensors;
    const opt = new Adam();
    await trainDpSgd({
      model: m,
      config: {
        datasetSize: 2,
        sampleRate: 0.7,
        noiseMultiplier: 1,
        clipNorm: 1,
        maxPhysicalBatch: 1,
        steps: 5,
      },
      optimizer: opt,
      schedule: () => 0.01,
      random: insecureSeededTrainingRandomForTests(5),
    });
    opt.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it("yields between steps (timers run) and stops between steps when aborted", async () => {
    const c = fixedGradientModel([Float32Array.from([1, 2]), Float32Array.from([3, 4])], 2);
    const ctl = new AbortController();
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
    }, 0);
    const r = await trainDpSgd({
      model: c,
      config: {
        datasetSize: 2,
        sampleRate: 0.7,
        noiseMultiplier: 1,
        clipNorm: 1,
        maxPhysicalBatch: 1,
        steps: 1000,
      },
      optimizer: new Sgd(),
      schedule: () => 0.1,
      random: insecureSeededTrainingRandomForTests(8),
      onStep: (s) => {
        if (s.step === 9) ctl.abort();
      },
      signal: ctl.signal,
    });
    clearInterval(timer);
    assert.equal(r.stepsTaken, 10);
    assert.ok(ticks > 0, "timers must run while training");
  });
});

describe("LogisticRegression book-keeping", () => {
  const rnd = insecureSeededTrainingRandomForTests(11);
  const n = 6;
  const d = 5;
  const features = new Float32Array(n * d).map(() => rnd.uniform() * 2 - 1);
  const labels = Int32Array.from([0, 1, 2, 1, 0, 2]);

  it("per-example norms and the clipped sum equal a per-example autodiff loop", () => {
    const model = new LogisticRegression(features, labels, 3);
    // Move away from zero so gradients differ per example.
    model.params.get("weight")!.assign(tf.randomNormal([d, 3], 0, 1, "float32", 7));
    model.params.get("bias")!.assign(tf.tensor1d([0.1, -0.2, 0.3]));
    const idx = Int32Array.from([0, 1, 2, 3, 4, 5]);
    const clip = 0.5;
    const got = model.clippedGradients(idx, clip);

    const w = model.params.get("weight")!;
    const b = model.params.get("bias")!;
    const expW = new Float64Array(d * 3);
    const expB = new Float64Array(3);
    for (let i = 0; i < n; i++) {
      const x = tf.tensor2d(features.subarray(i * d, i * d + d), [1, d]);
      const y = tf.oneHot(tf.tensor1d([labels[i]!], "int32"), 3).toFloat();
      const [gw, gb] = tf.grads((W: tf.Tensor, B: tf.Tensor) =>
        tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(tf.add(tf.matMul(x, W), B))))),
      )([w, b]);
      const gwv = gw!.dataSync();
      const gbv = gb!.dataSync();
      const norm = Math.sqrt([...gwv, ...gbv].reduce((s, v) => s + v * v, 0));
      assert.ok(
        Math.abs(norm - got.norms[i]!) < 1e-4 * Math.max(1, norm),
        `norm ${i}: ${norm} vs ${got.norms[i]}`,
      );
      const c = Math.min(1, clip / norm);
      gwv.forEach((v, k) => {
        expW[k]! += c * v;
      });
      gbv.forEach((v, k) => {
        expB[k]! += c * v;
      });
    }
    const gotW = got.clippedSum.get("weight")!.dataSync();
    const gotB = got.clippedSum.get("bias")!.dataSync();
    for (const [k, v] of expW.entries()) assert.ok(Math.abs(v - gotW[k]!) < 1e-4, `W[${k}]`);
    for (const [k, v] of expB.entries()) assert.ok(Math.abs(v - gotB[k]!) < 1e-4, `b[${k}]`);
    model.dispose();
  });

  it("learns a separable problem under DP-SGD", async () => {
    // Two Gaussian blobs in 20 dimensions; class = sign of the first coordinate's mean.
    const r = insecureSeededTrainingRandomForTests(21);
    const N = 2000;
    const D = 20;
    const X = new Float32Array(N * D);
    const Y = new Int32Array(N);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - r.uniform())) * Math.cos(2 * Math.PI * r.uniform());
    for (let i = 0; i < N; i++) {
      Y[i] = i % 2;
      for (let k = 0; k < D; k++) X[i * D + k] = 0.5 * gauss() + (k === 0 ? (Y[i] ? 1 : -1) : 0);
    }
    const model = new LogisticRegression(X, Y, 2);
    const steps = 200;
    await trainDpSgd({
      model,
      config: {
        datasetSize: N,
        sampleRate: 0.05,
        noiseMultiplier: 1,
        clipNorm: 1,
        maxPhysicalBatch: 64,
        steps,
      },
      optimizer: new Sgd({ momentum: 0.9 }),
      schedule: makeSchedule("cosine", 0.5, steps, 10),
      random: r,
    });
    const pred = model.predict(X);
    const acc = pred.reduce((s, p, i) => s + (p === Y[i] ? 1 : 0), 0) / N;
    assert.ok(acc > 0.95, `accuracy ${acc}`);
    model.dispose();
  });
});

describe("schedules", () => {
  it("warm up linearly then decay to the end", () => {
    const s = makeSchedule("linear", 1, 10, 2);
    assert.ok(Math.abs(s(0) - 1 / 3) < 1e-12);
    assert.ok(Math.abs(s(1) - 2 / 3) < 1e-12);
    assert.equal(s(2), 1);
    assert.ok(s(9) < s(5) && s(9) > 0);
    const c = makeSchedule("cosine", 2, 100);
    assert.equal(c(0), 2);
    assert.ok(Math.abs(c(50) - 1) < 1e-12);
    assert.throws(() => makeSchedule("constant", 0, 10), /learning rate/);
  });
});
