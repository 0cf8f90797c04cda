import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { FullScheme } from "./full.js";
import { LoraScheme } from "./lora.js";
import { checkRejectsLm, checkScheme, disposeBatch, TEST_BACKBONES, tinyBatch } from "./test-support.js";

before(async () => {
  await initBackend({ log: null });
});

for (const arch of TEST_BACKBONES) {
  const vocab = arch.config.vocabSize;

  test(`full (${arch.name}): DP backward (incl. embeddings, positions, LayerNorms and, for GPT-2, the tied LM head) = autodiff and per-example loop`, () => {
    const bb = arch.make(7, { perturb: true });
    const s = new FullScheme(bb, { numClasses: 3, initSeed: 2 });
    const batch = tinyBatch(3, 6, vocab, 3);
    for (const obj of arch.objectives) checkScheme(s, batch, obj);
    if (!bb.causal) checkRejectsLm(s, batch);
    disposeBatch(batch);
    s.dispose();
    bb.dispose();
  });

  test(`lora (${arch.name}): DP backward on the LoRA factors (attention + MLP) = autodiff and per-example loop`, () => {
    const bb = arch.make(8, { perturb: true });
    const s = new LoraScheme(bb, { numClasses: 2, rank: 2, mlp: true, initSeed: 3 });
    const l = bb.blockLayout;
    const targets = [...l.attnIn.map((a) => a.weight), l.attnOut.weight, l.mlpIn.weight, l.mlpOut.weight];
    for (const t of targets) assert.ok(s.trainable.has(`${bb.blockRef(1).prefix}.${t}.lora_B`), t);
    assert.equal(s.trainable.size, 2 * arch.config.nLayer * targets.length + 2); // A, B per target; classifier
    // B starts at zero (the model starts at the backbone); move it so A's gradient is non-zero too.
    for (const [k, v] of s.trainable)
      if (k.endsWith("lora_B")) v.assign(tf.randomNormal(v.shape, 0, 0.1, "float32", v.size));
    const batch = tinyBatch(4, 7, vocab, 2);
    for (const obj of arch.objectives) checkScheme(s, batch, obj);
    if (!bb.causal) checkRejectsLm(s, batch);
    disposeBatch(batch);
    s.dispose();
    bb.dispose();
  });
}

test("export/import of trainable weights round-trips and validates names and sizes", () => {
  const bb = TEST_BACKBONES[0]!.make(9);
  const a = new LoraScheme(bb, { numClasses: 2, rank: 2, initSeed: 1 });
  const b = new LoraScheme(bb, { numClasses: 2, rank: 2, initSeed: 2 });
  const w = a.exportTrainable();
  assert.equal(Object.keys(w).length, a.trainable.size);
  b.importTrainable(w);
  for (const [k, v] of b.trainable) assert.deepEqual(v.dataSync(), w[k]);
  assert.throws(() => b.importTrainable({ ...w, extra: new Float32Array(1) }), /unknown parameter extra/);
  const short = { ...w, "cls.bias": new Float32Array(1) };
  assert.throws(() => b.importTrainable(short), /cls.bias has 1 values, expected 2/);
  a.dispose();
  b.dispose();
  bb.dispose();
});
