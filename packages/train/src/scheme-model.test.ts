import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { FullScheme, f32ArrayToF16, GPT2, LoraScheme, ReversibleScheme, SideScheme } from "@memarc/models";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { trainDpSgd } from "./dp-sgd.js";
import { Adam } from "./optimizers.js";
import { makeSchedule } from "./schedule.js";
import { computeFeatureCache, evaluateClassifier, SchemeModel } from "./scheme-model.js";
import { insecureSeededTrainingRandomForTests } from "./testing/insecure-random.js";
import { batchTensors, disposeBatch, type TokenizedDataset } from "./tokenized.js";

before(async () => {
  await initBackend({ log: null });
});

const config = { nLayer: 2, nEmbd: 32, nHead: 2, nPositions: 8, vocabSize: 50, layerNormEps: 1e-5 };

/** Label = whether token 7 occurs; varied lengths with padding. */
function toyData(n: number, seed: number): TokenizedDataset {
  const r = insecureSeededTrainingRandomForTests(seed);
  const T = 8;
  const ids = new Int32Array(n * T);
  const lengths = new Int32Array(n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    lengths[i] = 3 + Math.floor(r.uniform() * 6);
    labels[i] = i % 2;
    for (let t = 0; t < lengths[i]!; t++) ids[i * T + t] = 10 + Math.floor(r.uniform() * 30);
    if (labels[i]) ids[i * T + Math.floor(r.uniform() * lengths[i]!)] = 7;
  }
  return { ids, lengths, labels, count: n, length: T };
}

describe("SchemeModel", () => {
  it("the side cache holds the backbone's features rounded to F16, and gives the on-the-fly gradients to F16 precision", () => {
    const backbone = GPT2.random(config, 3);
    const data = toyData(12, 1);
    const a = new SideScheme(backbone, { numClasses: 2, reduction: 4, initSeed: 5 });
    const b = new SideScheme(backbone, { numClasses: 2, reduction: 4, initSeed: 5 });
    const cache = computeFeatureCache(a, data);
    // Bit-exact: every cached value is the F16 rounding of the float32 feature.
    const one = batchTensors(data, [7]);
    const f = a.sideFeatures({ inputIds: one.inputIds, attentionMask: one.attentionMask });
    for (const [l, h] of f.hidden.entries())
      assert.deepEqual(cache[7]![l], f32ArrayToF16(h.dataSync() as Float32Array));
    tf.dispose(f.hidden);
    disposeBatch(one);
    const cached = new SchemeModel(a, data, { featureCache: cache });
    const fresh = new SchemeModel(b, data, { cacheSideFeatures: false });
    const idx = Int32Array.from([0, 3, 5, 8, 11]);
    const x = cached.clippedGradients(idx, 0.5);
    const y = fresh.clippedGradients(idx, 0.5);
    for (const [i, n] of x.norms.entries())
      assert.ok(Math.abs(n - y.norms[i]!) <= 1e-2 * y.norms[i]!, `norm ${i}`);
    for (const [k, g] of x.clippedSum) {
      const gv = g.dataSync();
      const hv = y.clippedSum.get(k)!.dataSync();
      let scale = 0;
      for (const v of hv) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < gv.length; i++)
        assert.ok(Math.abs(gv[i]! - hv[i]!) <= 1e-2 * scale + 1e-7, `${k}[${i}]`);
    }
    tf.dispose([...x.clippedSum.values(), ...y.clippedSum.values()]);
    a.dispose();
    b.dispose();
  });

  it("evaluation runs one forward per batch and reports the scheme's own losses and probabilities", () => {
    const backbone = GPT2.random(config, 6);
    const data = toyData(20, 4);
    const schemes = [
      new FullScheme(backbone, { numClasses: 2, initSeed: 3 }),
      new LoraScheme(backbone, { numClasses: 2, rank: 2, initSeed: 3 }),
      new ReversibleScheme(backbone, { numClasses: 2, initSeed: 3 }),
    ];
    for (const scheme of schemes) {
      let forwards = 0;
      const classify = scheme.classify.bind(scheme);
      scheme.classify = (b) => {
        forwards++;
        return classify(b);
      };
      scheme.perExampleLoss = () => {
        throw new Error("evaluation must not run a second forward for the loss");
      };
      const ev = evaluateClassifier(scheme, data, 8);
      assert.equal(forwards, 3, `${scheme.kind}: one forward per batch of 8 (20 rows)`);
      delete (scheme as Partial<typeof scheme>).classify;
      delete (scheme as Partial<typeof scheme>).perExampleLoss;
      const all = batchTensors(
        data,
        Array.from({ length: data.count }, (_, i) => i),
      );
      const [want, probs] = tf.tidy(() => [
        scheme.perExampleLoss(all, "classify"),
        tf.softmax(scheme.classify(all)),
      ]);
      const w = want!.dataSync();
      const p = probs!.dataSync();
      let correct = 0;
      for (let i = 0; i < data.count; i++) {
        assert.ok(
          Math.abs(ev.losses[i]! - w[i]!) <= 1e-6,
          `${scheme.kind} loss ${i}: ${ev.losses[i]} vs ${w[i]}`,
        );
        if ((p[2 * i + 1]! > p[2 * i]! ? 1 : 0) === data.labels[i]) correct++;
      }
      for (let i = 0; i < p.length; i++)
        assert.ok(Math.abs(ev.probabilities[i]! - p[i]!) <= 1e-6, `${scheme.kind} p ${i}`);
      assert.equal(ev.correct, correct, scheme.kind);
      tf.dispose([want!, probs!]);
      disposeBatch(all);
      scheme.dispose();
    }
    backbone.dispose();
  });

  it("learns a toy task through the DP-SGD engine for every sampling/noise seed, without leaking tensors", async () => {
    // Several training seeds, not one lucky draw: the claim is that DP-SGD learns this task, so it
    // must hold whatever Poisson batches and noise the generator produces.
    const eval_ = toyData(256, 3);
    for (const seed of [9, 10, 11]) {
      const backbone = GPT2.random(config, 4);
      const scheme = new FullScheme(backbone, { numClasses: 2, initSeed: 2 });
      const chance = evaluateClassifier(scheme, eval_).accuracy;
      const train = toyData(512, 2);
      const model = new SchemeModel(scheme, train);
      const before = tf.memory().numTensors;
      const opt = new Adam();
      const steps = 200;
      await trainDpSgd({
        model,
        config: {
          datasetSize: train.count,
          sampleRate: 1 / 16,
          noiseMultiplier: 0.3,
          clipNorm: 1,
          maxPhysicalBatch: 16,
          steps,
        },
        optimizer: opt,
        schedule: makeSchedule("constant", 2e-2, steps),
        random: insecureSeededTrainingRandomForTests(seed),
      });
      opt.dispose();
      assert.equal(tf.memory().numTensors, before);
      const { accuracy } = evaluateClassifier(scheme, eval_);
      assert.ok(chance < 0.65, `seed ${seed}: untrained accuracy ${chance} should be near chance`);
      assert.ok(accuracy > 0.9, `seed ${seed}: accuracy ${accuracy}`);
      scheme.dispose();
      backbone.dispose();
    }
  });
});
