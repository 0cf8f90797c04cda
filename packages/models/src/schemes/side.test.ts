import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { GPT2 } from "../gpt2/model.js";
import { SideScheme } from "./side.js";
import { featuresFromArrays, featuresToArrays } from "./side-features.js";
import { checkScheme, disposeBatch, tinyBatch, tinyConfig } from "./test-support.js";

before(async () => {
  await initBackend({ log: null });
});

test("side: explicit DP backward = autodiff; norms and clipped sum = per-example loop (precomputed features)", () => {
  const bb = GPT2.random(tinyConfig, 2, true);
  const s = new SideScheme(bb, { numClasses: 3, reduction: 2, initSeed: 4 });
  // Move away from the init (zero upsample, zero gates) so every parameter gets gradient.
  for (const [, v] of s.trainable) v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.05, "float32", v.size)));
  const batch = tinyBatch(3, 10, tinyConfig.vocabSize, 3);
  batch.features = s.sideFeatures(batch);
  checkScheme(s, batch, "classify");
  checkScheme(s, batch, "lm");
  disposeBatch(batch);
  s.dispose();
  bb.dispose();
});

test("side: starts at the backbone's function; features round-trip through arrays; computed on demand", () => {
  const bb = GPT2.random(tinyConfig, 3, true);
  const s = new SideScheme(bb, { numClasses: 2, reduction: 4 });
  assert.equal(s.plan.width, 4);
  const batch = tinyBatch(2, 6, tinyConfig.vocabSize, 2);
  const lmSide = s.perExampleLoss(batch, "lm");
  const feats = s.sideFeatures(batch);
  const arrays = featuresToArrays(feats);
  assert.equal(arrays.length, 2);
  assert.equal(arrays[0]!.length, tinyConfig.nLayer + 1);
  const back = featuresFromArrays(arrays, 6, tinyConfig.nEmbd);
  const lmCached = s.perExampleLoss({ ...batch, features: back }, "lm");
  assert.deepEqual(lmSide.dataSync(), lmCached.dataSync());
  // Reference LM loss straight from the backbone logits.
  const logits = bb.logits(batch.inputIds, batch.attentionMask);
  const ref = tf.tidy(() => {
    const lp = tf.logSoftmax(tf.slice(logits, [0, 0, 0], [2, 5, -1]));
    const tgt = tf.oneHot(tf.slice(batch.inputIds, [0, 1], [2, 5]), tinyConfig.vocabSize);
    const w = tf.mul(
      tf.slice(batch.attentionMask, [0, 1], [2, 5]),
      tf.slice(batch.attentionMask, [0, 0], [2, 5]),
    );
    const nll = tf.neg(tf.sum(tf.mul(tgt, lp), 2));
    return tf.div(tf.sum(tf.mul(nll, w), 1), tf.sum(w, 1));
  });
  const a = lmSide.dataSync();
  const r = ref.dataSync();
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(a[i]! - r[i]!) < 1e-5, `${a[i]} vs ${r[i]}`);
  tf.dispose([lmSide, lmCached, logits, ref, ...feats.hidden, ...back.hidden]);
  disposeBatch(batch);
  s.dispose();
  bb.dispose();
});
