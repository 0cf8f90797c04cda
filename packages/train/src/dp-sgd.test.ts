import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { LogisticRegression } from "./baselines/logistic-regression.js";
import { trainDpSgd, trainDpSgdAsync } from "./dp-sgd.js";
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
  it("adds noise of std z·C/(qN) to the mean gradient", () => {
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
    trainDpSgd(m, cfg, new Sgd(), () => 1, insecureSeededTrainingRandomForTests(1));
    const v = Array.from(m.p.dataSync());
    const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    assert.ok(Math.abs(std - (2 * 0.25) / 0.5) < 0.01, `std ${std}`); // zC/(qN) = 0.5/0.5 = 1
  });

  it("clips every example to C and divides by the expected batch size, not the sampled one", () => {
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
    trainDpSgd(m, cfg, new Sgd(), () => 1, noNoise);
    assert.deepEqual(Array.from(m.p.dataSync()), [-0.25, -0.25, -0.25, -0.25]);

    // q = 0.5 with only example 0 sampled: the denominator stays q·N = 2.
    const m2 = fixedGradientModel(grads, 4);
    const only0 = { ...noNoise, poissonSample: () => Int32Array.from([0]) };
    trainDpSgd(m2, { ...cfg, sampleRate: 0.5 }, new Sgd(), () => 1, only0);
    assert.deepEqual(Array.from(m2.p.dataSync()), [-0.5, 0, 0, 0]);
  });

  it("takes a pure-noise step when the Poisson batch is empty", () => {
    const m = fixedGradientModel([Float32Array.from([1, 1])], 2);
    const empty = { ...insecureSeededTrainingRandomForTests(3), poissonSample: () => new Int32Array(0) };
    const steps: number[] = [];
    const r = trainDpSgd(
      m,
      { datasetSize: 1, sampleRate: 0.1, noiseMultiplier: 1, clipNorm: 1, maxPhysicalBatch: 4, steps: 2 },
      new Sgd(),
      () => 1,
      empty,
      { onStep: (s) => steps.push(s.batchSize) },
    );
    assert.equal(r.stepsTaken, 2);
    assert.deepEqual(steps, [0, 0]);
    assert.ok(
      m.p.dataSync().some((x) => x !== 0),
      "noise must still move the parameters",
    );
  });

  it("stops exactly when the budget hook refuses", () => {
    const m = fixedGradientModel([Float32Array.from([1])], 1);
    const taken: number[] = [];
    const r = trainDpSgd(
      m,
      { datasetSize: 1, sampleRate: 1, noiseMultiplier: 1, clipNorm: 1, maxPhysicalBatch: 1, steps: 100 },
      new Sgd(),
      () => 0.1,
      insecureSeededTrainingRandomForTests(4),
      { mayStep: (s) => s < 7, onStep: (s) => taken.push(s.step) },
    );
    assert.equal(r.stepsTaken, 7);
    assert.ok(r.stoppedByBudget);
    assert.deepEqual(taken, [0, 1, 2, 3, 4, 5, 6]);
  });

  it("does not leak tensors across steps", () => {
    const m = fixedGradientModel([Float32Array.from([1, 2]), Float32Array.from([3, 4])], 2);
    const before = tf.memory().numTensors;
    const opt = new Adam();
    trainDpSgd(
      m,
      { datasetSize: 2, sampleRate: 0.7, noiseMultiplier: 1, clipNorm: 1, maxPhysicalBatch: 1, steps: 5 },
      opt,
      () => 0.01,
      insecureSeededTrainingRandomForTests(5),
    );
    opt.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});

describe("trainDpSgdAsync", () => {
  it("takes exactly the steps the sync loop takes, and stops between steps when aborted", async () => {
    const cfg = {
      datasetSize: 2,
      sampleRate: 0.7,
      noiseMultiplier: 1,
      clipNorm: 1,
      maxPhysicalBatch: 1,
      steps: 6,
    };
    const grads = [Float32Array.from([1, 2]), Float32Array.from([3, 4])];
    const a = fixedGradientModel(grads, 2);
    const b = fixedGradientModel(grads, 2);
    trainDpSgd(a, cfg, new Sgd(), () => 0.1, insecureSeededTrainingRandomForTests(8));
    const r = await trainDpSgdAsync(b, cfg, new Sgd(), () => 0.1, insecureSeededTrainingRandomForTests(8));
    assert.equal(r.stepsTaken, 6);
    assert.deepEqual(Array.from(b.p.dataSync()), Array.from(a.p.dataSync()));

    const c = fixedGradientModel(grads, 2);
    const ctl = new AbortController();
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
    }, 0);
    const r2 = await trainDpSgdAsync(
      c,
      { ...cfg, steps: 1000 },
      new Sgd(),
      () => 0.1,
      insecureSeededTrainingRandomForTests(8),
      {
        onStep: (s) => {
          if (s.step === 9) ctl.abort();
        },
      },
      ctl.signal,
    );
    clearInterval(timer);
    assert.equal(r2.stepsTaken, 10);
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

  it("learns a separable problem under DP-SGD", () => {
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
    trainDpSgd(
      model,
      { datasetSize: N, sampleRate: 0.05, noiseMultiplier: 1, clipNorm: 1, maxPhysicalBatch: 64, steps },
      new Sgd({ momentum: 0.9 }),
      makeSchedule("cosine", 0.5, steps, 10),
      r,
    );
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
