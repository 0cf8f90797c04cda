import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { GPT2 } from "../gpt2/model.js";
import { FullScheme } from "./full.js";
import { LoraScheme } from "./lora.js";
import { checkScheme, disposeBatch, tinyBatch, tinyConfig } from "./test-support.js";

before(async () => {
  await initBackend({ log: null });
});

test("full: DP backward (incl. embeddings, positions, LayerNorms and the tied LM head) = autodiff and per-example loop", () => {
  const bb = GPT2.random(tinyConfig, 7, true);
  const s = new FullScheme(bb, { numClasses: 3, initSeed: 2 });
  const batch = tinyBatch(3, 6, tinyConfig.vocabSize, 3);
  checkScheme(s, batch, "classify");
  checkScheme(s, batch, "lm");
  disposeBatch(batch);
  s.dispose();
  bb.dispose();
});

test("lora: DP backward on the LoRA factors (attention + MLP) = autodiff and per-example loop", () => {
  const bb = GPT2.random(tinyConfig, 8, true);
  const s = new LoraScheme(bb, { numClasses: 2, rank: 2, mlp: true, initSeed: 3 });
  assert.ok(s.trainable.has("h.1.mlp.c_fc.weight.lora_B"));
  // B starts at zero (the model starts at the backbone); move it so A's gradient is non-zero too.
  for (const [k, v] of s.trainable)
    if (k.endsWith("lora_B")) v.assign(tf.randomNormal(v.shape, 0, 0.1, "float32", v.size));
  const batch = tinyBatch(4, 7, tinyConfig.vocabSize, 2);
  checkScheme(s, batch, "classify");
  checkScheme(s, batch, "lm");
  disposeBatch(batch);
  s.dispose();
  bb.dispose();
});

test("export/import of trainable weights round-trips and validates names and sizes", () => {
  const bb = GPT2.random(tinyConfig, 9);
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
