/**
 * A RoBERTa directory through @memarc/train's loading and tokenization path: the tiny RoBERTa of
 * scripts/make-roberta-reference.py (packages/models/fixtures), whose reference ids come from Hugging
 * Face `tokenizers` (truncation and padding to context 16) and whose states from a float64 numpy
 * forward with transformers' position ids. Every scheme binds it and takes a DP step.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { ModelError, meanPool } from "@memarc/models";
import { bundledEncoderPath } from "@memarc/models/node";
import { initBackend } from "@memarc/tensor";
import { RobertaTokenizer } from "@memarc/tokenizer";
import * as tf from "@tensorflow/tfjs";
import { loadBackbone } from "../node/backbone-dir.js";
import { batchTensors, disposeBatch, tokenizeDataset } from "../tokenized.js";
import type { Backbone } from "./backbone.js";
import { createScheme } from "./schemes.js";

const FIXTURES = join(bundledEncoderPath(), "..", "..", "fixtures");
const DIR = join(FIXTURES, "tiny-roberta");

interface Fixture {
  texts: string[];
  batchSize: number;
  seqLength: number;
  inputIds: number[];
  attentionMask: number[];
  pooled: number[];
}

const fx = JSON.parse(readFileSync(join(FIXTURES, "roberta-reference.json"), "utf8")) as Fixture;

let backbone: Backbone & { tokenizer: NonNullable<Backbone["tokenizer"]> };
before(async () => {
  await initBackend({ log: null });
  backbone = await loadBackbone(DIR);
});

test("loadBackbone picks RoBERTa's network and byte-level BPE with <s> … </s> from model_type roberta", () => {
  assert.equal(backbone.model.architecture, "roberta");
  assert.ok(backbone.tokenizer instanceof RobertaTokenizer);
  assert.equal(backbone.tokenizer.padId, 1);
});

test("tokenizeDataset reproduces the HF tokenizer's rows at context 16 and drives the encoder to the reference", () => {
  const { batchSize: b, seqLength: t } = fx;
  const data = tokenizeDataset(backbone.tokenizer, fx.texts, new Int32Array(b), t);
  assert.deepEqual(Array.from(data.ids), fx.inputIds);
  const rows = batchTensors(data, [0, 1, 2, 3]);
  assert.deepEqual(Array.from(rows.attentionMask.dataSync()), fx.attentionMask);
  const { final } = backbone.model.forward(rows.inputIds, rows.attentionMask);
  const pooled = meanPool(final, rows.attentionMask);
  const got = pooled.dataSync();
  const worst = Math.max(...fx.pooled.map((v, i) => Math.abs(v - got[i]!)));
  assert.ok(worst <= 1e-4, `pooled: max abs error ${worst}`);
  tf.dispose([final, pooled]);
  disposeBatch(rows);
  // A literal "</s>" in the data stays text: the row ends with the one real </s>.
  const odd = tokenizeDataset(backbone.tokenizer, ["a </s> b"], new Int32Array(1), 16);
  const len = odd.lengths[0]!;
  assert.deepEqual(
    Array.from(odd.ids.subarray(0, len)).filter((id) => id === 2),
    [2],
  );
});

for (const kind of ["side", "lora", "reversible", "full"] as const) {
  test(`${kind} on RoBERTa binds texts, takes a finite DP step and evaluates, leaking no tensors`, async () => {
    const before = tf.memory().numTensors;
    const scheme = createScheme(kind, backbone, { numClasses: 2, reduction: 8 });
    const labels = Int32Array.from([0, 1, 1, 0]);
    const model = scheme.bind(fx.texts, labels, { contextLength: 16 });
    const step = model.clippedGradients(Int32Array.from([0, 1, 2, 3]), 1);
    assert.equal(step.norms.length, 4);
    for (const n of step.norms) assert.ok(Number.isFinite(n) && n > 0, `norm ${n}`);
    tf.dispose([...step.clippedSum.values()]);
    const ev = await scheme.evaluate(fx.texts, labels, { contextLength: 16 });
    assert.equal(ev.losses.length, 4);
    scheme.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
}

test("a RoBERTa directory without merges.txt is E_NO_BACKBONE naming the file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "memarc-roberta-"));
  try {
    for (const f of ["config.json", "model.safetensors", "vocab.json"])
      copyFileSync(join(DIR, f), join(dir, f));
    await assert.rejects(
      loadBackbone(dir),
      (e: unknown) =>
        e instanceof ModelError &&
        e.code === "E_NO_BACKBONE" &&
        /not a roberta backbone directory: missing merges\.txt/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
