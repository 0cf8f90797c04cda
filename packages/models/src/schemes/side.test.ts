import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { classifyLogits } from "../core/losses.js";
import { Tracer } from "../core/tracer.js";
import { GPT2 } from "../gpt2/model.js";
import { SideScheme } from "./side.js";
import { featuresFromArrays, featuresToArrays } from "./side-features.js";
import { checkRejectsLm, checkScheme, disposeBatch, TEST_BACKBONES, tinyBatch } from "./test-support.js";

before(async () => {
  await initBackend({ log: null });
});

for (const arch of TEST_BACKBONES) {
  const vocab = arch.config.vocabSize;

  test(`side (${arch.name}): explicit DP backward = autodiff; norms and clipped sum = per-example loop (precomputed features)`, () => {
    const bb = arch.make(2, { perturb: true });
    const s = new SideScheme(bb, { numClasses: 3, reduction: 2, initSeed: 4 });
    // Side blocks are pruned copies of the backbone's own blocks: same parameter names below the prefix.
    const own = [...bb.params.keys()].filter((k) => k.startsWith(`${bb.blockRef(0).prefix}.`));
    const side = [...s.trainable.keys()].filter((k) => k.startsWith("side.h.0."));
    assert.deepEqual(
      side.map((k) => k.slice("side.h.0.".length)).sort(),
      own.map((k) => k.slice(bb.blockRef(0).prefix.length + 1)).sort(),
    );
    // Move away from the init (zero upsample, zero gates) so every parameter gets gradient.
    for (const [, v] of s.trainable)
      v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.05, "float32", v.size)));
    const batch = tinyBatch(3, 10, vocab, 3);
    batch.features = s.sideFeatures(batch);
    for (const obj of arch.objectives) checkScheme(s, batch, obj);
    if (!bb.causal) checkRejectsLm(s, batch);
    disposeBatch(batch);
    s.dispose();
    bb.dispose();
  });

  test(`side (${arch.name}): starts at the backbone's function; features round-trip through arrays; computed on demand`, () => {
    const bb = arch.make(3, { perturb: true });
    const s = new SideScheme(bb, { numClasses: 2, reduction: 4 });
    assert.equal(s.plan.width, arch.config.nEmbd / 4);
    const batch = tinyBatch(2, 6, vocab, 2);
    const obj = arch.objectives[arch.objectives.length - 1]!;
    const onDemand = s.perExampleLoss(batch, obj);
    const feats = s.sideFeatures(batch);
    const arrays = featuresToArrays(feats);
    assert.equal(arrays.length, 2);
    assert.equal(arrays[0]!.length, arch.config.nLayer + 1);
    const back = featuresFromArrays(arrays, 6, arch.config.nEmbd);
    const cached = s.perExampleLoss({ ...batch, features: back }, obj);
    assert.deepEqual(onDemand.dataSync(), cached.dataSync());
    // At init (zero upsample) the classifier sees exactly the backbone's final states (a unit-scale
    // head, so a deviation in the states shows in the logits).
    const cls = s.trainable.get("cls.weight")!;
    cls.assign(tf.randomNormal(cls.shape, 0, 1, "float32", 5));
    const logits = s.classify(batch);
    const { final } = bb.forward(batch.inputIds, batch.attentionMask);
    const tr = new Tracer(s.tracerOptions("plain", false));
    const want = tf.tidy(() => classifyLogits(tr, final, batch.attentionMask));
    const a = logits.dataSync();
    const r = want.dataSync();
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - r[i]!) < 1e-5, `${a[i]} vs ${r[i]}`);
    tf.dispose([logits, final, want]);
    if (bb instanceof GPT2) {
      // Reference LM loss straight from the backbone logits.
      const lmLogits = bb.logits(batch.inputIds, batch.attentionMask);
      const ref = tf.tidy(() => {
        const lp = tf.logSoftmax(tf.slice(lmLogits, [0, 0, 0], [2, 5, -1]));
        const tgt = tf.oneHot(tf.slice(batch.inputIds, [0, 1], [2, 5]), vocab);
        const w = tf.mul(
          tf.slice(batch.attentionMask, [0, 1], [2, 5]),
          tf.slice(batch.attentionMask, [0, 0], [2, 5]),
        );
        const nll = tf.neg(tf.sum(tf.mul(tgt, lp), 2));
        return tf.div(tf.sum(tf.mul(nll, w), 1), tf.sum(w, 1));
      });
      const l = onDemand.dataSync();
      const rr = ref.dataSync();
      for (let i = 0; i < 2; i++) assert.ok(Math.abs(l[i]! - rr[i]!) < 1e-5, `${l[i]} vs ${rr[i]}`);
      tf.dispose([lmLogits, ref]);
    }
    tf.dispose([onDemand, cached, ...feats.hidden, ...back.hidden]);
    disposeBatch(batch);
    s.dispose();
    bb.dispose();
  });
}
