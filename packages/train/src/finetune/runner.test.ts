import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { GPT2 } from "@memarc/models";
import { calibrateNoiseMultiplier, createAccountant } from "@memarc/privacy";
import { initBackend } from "@memarc/tensor";
import { trainBpe } from "@memarc/tokenizer";
import { saveBpe } from "@memarc/tokenizer/node";
import * as tf from "@tensorflow/tfjs";
import type { TrainingRandom } from "../model.js";
import { insecureSeededTrainingRandomForTests } from "../testing/insecure-random.js";
import { type LabelledTexts, runFinetune } from "./runner.js";
import { createScheme } from "./schemes.js";
import { holdoutSplit } from "./split.js";

before(async () => {
  await initBackend({ log: null });
});

const SPAMMY = ["free", "winner", "cash", "prize", "viagra", "offer", "click", "bonus"];
const HAMMY = ["meeting", "notes", "agenda", "lunch", "report", "draft", "review", "thanks"];
const FILLER = ["the", "a", "of", "and", "to", "we", "you", "it", "for", "on"];

/** Label 1 iff the text contains words from the "spam" list; deterministic (seeded, tests only). */
function toyTexts(n: number, seed: number): LabelledTexts {
  const r = insecureSeededTrainingRandomForTests(seed);
  const pick = (xs: string[]) => xs[Math.floor(r.uniform() * xs.length)]!;
  const texts: string[] = [];
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    const words: string[] = [];
    const len = 4 + Math.floor(r.uniform() * 5);
    for (let k = 0; k < len; k++) words.push(k % 2 ? pick(labels[i] ? SPAMMY : HAMMY) : pick(FILLER));
    texts.push(words.join(" "));
  }
  return { texts, labels };
}

/** Counts Gaussian draws, to see whether the engine added noise at all. */
function countingRandom(seed: number): TrainingRandom & { gaussians: number } {
  const base = insecureSeededTrainingRandomForTests(seed);
  const r = {
    gaussians: 0,
    poissonSample: base.poissonSample,
    addNoise(values: Float32Array, std: number, sensitivity: number) {
      r.gaussians += values.length;
      base.addNoise(values, std, sensitivity);
    },
  };
  return r;
}

const train = toyTexts(400, 1);
const test = toyTexts(100, 2);
const common = {
  delta: 1e-5,
  batchSize: 40,
  lr: 0.5,
  optimizer: "sgd" as const,
  clipNorm: 1,
  contextLength: 16,
};

describe("runFinetune", () => {
  it("calibrates σ for the target ε, steps = round(epochs/q), and reports the accountant's ε", async () => {
    const scheme = createScheme("logreg", null, { numClasses: 2, hashDim: 256 });
    const random = countingRandom(3);
    const r = await runFinetune({
      ...common,
      scheme,
      dataset: { train, test },
      epsilon: 2,
      epochs: 3,
      random,
    });
    const q = 40 / 400;
    assert.equal(r.sampleRate, q);
    assert.equal(r.plannedSteps, 30);
    assert.equal(r.steps, 30);
    assert.equal(r.stoppedByBudget, false);
    const cal = calibrateNoiseMultiplier({ targetEpsilon: 2, delta: 1e-5, sampleRate: q, steps: 30 });
    assert.equal(r.noiseMultiplier, cal.noiseMultiplier);
    const ref = createAccountant("rdp").step({
      noiseMultiplier: cal.noiseMultiplier,
      sampleRate: q,
      steps: 30,
    });
    assert.equal(r.epsilon, ref.getEpsilon(1e-5));
    assert.ok(r.epsilon <= 2 && r.epsilon > 1.9, `ε ${r.epsilon}`);
    // Noise was drawn for every parameter at every step (plus the memory probe's step).
    assert.equal(random.gaussians, (256 + 1) * 2 * 31);
    assert.ok(r.testAccuracy >= 0.9, `accuracy ${r.testAccuracy}`);
    assert.ok(r.peakBytes >= 40 * 256 * 4, `peak ${r.peakBytes}`);
    assert.ok(r.examplesPerSecond > 0);
    scheme.dispose();
  });

  it("stops exactly before the step that would exceed the budget", async () => {
    const scheme = createScheme("logreg", null, { numClasses: 2, hashDim: 64 });
    const sigma = 1.5; // ε(200 steps) ≈ 5.5: far more than the budget of 2
    const q = 40 / 400;
    const r = await runFinetune({
      ...common,
      scheme,
      dataset: { train, test },
      epsilon: 2,
      epochs: 20,
      noiseMultiplier: sigma,
      random: insecureSeededTrainingRandomForTests(4),
      measureMemory: false,
    });
    assert.equal(r.plannedSteps, 200);
    assert.equal(r.stoppedByBudget, true);
    const eps = (k: number) =>
      createAccountant("rdp").step({ noiseMultiplier: sigma, sampleRate: q, steps: k }).getEpsilon(1e-5);
    assert.ok(r.steps > 0 && r.steps < 200, `steps ${r.steps}`);
    assert.ok(eps(r.steps) <= 2, `ε after ${r.steps} steps = ${eps(r.steps)}`);
    assert.ok(eps(r.steps + 1) > 2, `ε after ${r.steps + 1} steps = ${eps(r.steps + 1)}`);
    assert.equal(r.epsilon, eps(r.steps));
    scheme.dispose();
  });

  it("an accountant with earlier spending leaves less budget", async () => {
    const q = 40 / 400;
    const fresh = createScheme("logreg", null, { numClasses: 2, hashDim: 64 });
    const a = await runFinetune({
      ...common,
      scheme: fresh,
      dataset: { train },
      epsilon: 2,
      epochs: 20,
      noiseMultiplier: 1.5,
      random: insecureSeededTrainingRandomForTests(5),
      measureMemory: false,
    });
    const spent = createAccountant("rdp").step({ noiseMultiplier: 1.5, sampleRate: q, steps: 10 });
    const b = await runFinetune({
      ...common,
      scheme: fresh,
      dataset: { train },
      epsilon: 2,
      epochs: 20,
      noiseMultiplier: 1.5,
      accountant: spent,
      random: insecureSeededTrainingRandomForTests(5),
      measureMemory: false,
    });
    assert.ok(a.steps > 10 && a.stoppedByBudget, `steps ${a.steps}`);
    assert.equal(b.steps, a.steps - 10);
    assert.ok(b.epsilon <= 2 && Number.isNaN(b.testAccuracy));
    fresh.dispose();
  });

  it("ε = ∞ trains without noise, clipping or accountant", async () => {
    const scheme = createScheme("logreg", null, { numClasses: 2, hashDim: 256 });
    const random = countingRandom(6);
    const r = await runFinetune({
      ...common,
      scheme,
      dataset: { train, test },
      epsilon: Number.POSITIVE_INFINITY,
      delta: 0,
      epochs: 2,
      random,
    });
    assert.equal(random.gaussians, 0);
    assert.equal(r.noiseMultiplier, 0);
    assert.equal(r.epsilon, Number.POSITIVE_INFINITY);
    assert.equal(r.clipNorm, Number.POSITIVE_INFINITY);
    assert.equal(r.steps, 20);
    assert.equal(r.testAccuracy, 1);
    scheme.dispose();
  });

  it("side scheme: tokenizes with the backbone's tokenizer, learns, runs under DP, leaks no tensors", async () => {
    const tokenizer = trainBpe(train.texts, { vocabSize: 300 });
    const model = GPT2.random(
      { nLayer: 2, nEmbd: 32, nHead: 2, nPositions: 16, vocabSize: tokenizer.vocabSize, layerNormEps: 1e-5 },
      2,
    );
    const tensors = tf.memory().numTensors;
    const { train: tr, holdout } = holdoutSplit(train, 0.25);
    assert.equal(tr.labels.length + holdout.labels.length, 400);
    const run = async (epsilon: number, epochs: number) => {
      const scheme = createScheme("side", { model, tokenizer }, { numClasses: 2, reduction: 4 });
      const r = await runFinetune({
        ...common,
        scheme,
        dataset: { train: tr, test: holdout },
        epsilon,
        epochs,
        batchSize: 60,
        lr: 5e-3,
        optimizer: "adam",
        maxPhysicalBatch: 32,
        random: insecureSeededTrainingRandomForTests(7),
      });
      assert.throws(
        () => scheme.bind(train.texts, train.labels, { contextLength: 17 }),
        /context length must be in \[1, 16\]/,
      );
      scheme.dispose();
      return r;
    };
    // Chance is 0.5: the head and side network must learn through the engine (cached features).
    const plain = await run(Number.POSITIVE_INFINITY, 8);
    assert.equal(plain.scheme, "side");
    assert.ok(plain.testAccuracy >= 0.9, `holdout accuracy ${plain.testAccuracy}`);
    const dp = await run(8, 2);
    assert.ok(dp.epsilon <= 8 && dp.epsilon > 7.5, `ε ${dp.epsilon}`);
    assert.equal(dp.steps, 10);
    assert.equal(dp.peakBatch, 32);
    assert.ok(
      dp.peakBytes > plain.peakBytes * 0.5 && dp.peakBytes > 0,
      `${dp.peakBytes} vs ${plain.peakBytes}`,
    );
    assert.equal(tf.memory().numTensors, tensors);
    model.dispose();
  });
});

describe("side feature cache on disk", () => {
  it("is written once, reused, and gives the same clipped gradients as in-memory features", async () => {
    const { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { saveGPT2 } = await import("@memarc/models/node");
    const { loadBackbone } = await import("../node/backbone-dir.js");
    const { SchemeModel } = await import("../scheme-model.js");
    const root = mkdtempSync(join(tmpdir(), "memarc-fc-"));
    try {
      const tokenizer = trainBpe(train.texts, { vocabSize: 300 });
      const random = GPT2.random(
        {
          nLayer: 2,
          nEmbd: 32,
          nHead: 2,
          nPositions: 16,
          vocabSize: tokenizer.vocabSize,
          layerNormEps: 1e-5,
        },
        5,
      );
      await saveGPT2(random, join(root, "bb"));
      saveBpe(tokenizer, join(root, "bb"));
      random.dispose();
      const bb = await loadBackbone(join(root, "bb"));
      const scheme = createScheme("side", bb, { numClasses: 2, reduction: 4 });
      const cacheDir = join(root, "cache");
      const o = { contextLength: 16, featureCacheDir: cacheDir };
      mkdirSync(cacheDir, { mode: 0o755 }); // a world-readable directory is made private
      const first = scheme.bind(train.texts, train.labels, o);
      assert.equal(readdirSync(cacheDir).length, 1);
      // Features of private text: the directory is 0700 and the file 0600.
      assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
      assert.equal(statSync(join(cacheDir, readdirSync(cacheDir)[0]!)).mode & 0o777, 0o600);
      let progress = 0;
      const second = scheme.bind(train.texts, train.labels, { ...o, onPrepare: (d) => (progress = d) });
      assert.equal(progress, 400); // loaded in one go, not recomputed batch by batch
      assert.equal(readdirSync(cacheDir).length, 1);
      scheme.bind(train.texts.slice(0, 50), train.labels.slice(0, 50), o);
      assert.equal(readdirSync(cacheDir).length, 2); // different tokens, different key
      const ref = new SchemeModel(scheme.scheme!, (first as InstanceType<typeof SchemeModel>).data);
      const idx = Int32Array.from([0, 7, 99, 250, 399]);
      const a = second.clippedGradients(idx, 0.5);
      const b = ref.clippedGradients(idx, 0.5);
      assert.deepEqual(Array.from(a.norms), Array.from(b.norms));
      for (const [k, g] of a.clippedSum) {
        const x = g.dataSync();
        const y = b.clippedSum.get(k)!.dataSync();
        for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) < 1e-6, `${k}[${i}]`);
      }
      tf.dispose([...a.clippedSum.values(), ...b.clippedSum.values()]);
      const e1 = await scheme.evaluate(test.texts, test.labels, o);
      const e2 = await scheme.evaluate(test.texts, test.labels, { contextLength: 16 });
      assert.equal(e1.accuracy, e2.accuracy);
      assert.ok(Math.abs(e1.loss - e2.loss) < 1e-5);
      scheme.dispose();
      bb.model.dispose();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
