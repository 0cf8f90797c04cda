/**
 * The bundled BERT encoder (packages/models/assets/all-minilm-l6-v2) through @memarc/train's loading
 * and tokenization path, against packages/models/fixtures/minilm-reference.json, whose ids come from
 * Hugging Face `tokenizers` (truncation and padding to context 16) and whose embeddings come from a
 * float64 forward of the same weights.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { ModelError, meanPool } from "@memarc/models";
import { bundledEncoderDir, bundledEncoderPath } from "@memarc/models/node";
import { initBackend } from "@memarc/tensor";
import { WordPieceTokenizer } from "@memarc/tokenizer";
import * as tf from "@tensorflow/tfjs";
import { loadBackbone } from "../node/backbone-dir.js";
import { batchTensors, disposeBatch, tokenizeDataset } from "../tokenized.js";
import type { Backbone } from "./backbone.js";
import { createScheme } from "./schemes.js";

interface Fixture {
  texts: string[];
  batchSize: number;
  seqLength: number;
  inputIds: number[];
  attentionMask: number[];
  sentenceEmbeddings: number[];
  pairs: [string, string][];
  pairInputIds: number[][];
}

const fx = JSON.parse(
  readFileSync(join(bundledEncoderPath(), "..", "..", "fixtures", "minilm-reference.json"), "utf8"),
) as Fixture;

let backbone: Backbone & { tokenizer: NonNullable<Backbone["tokenizer"]> };
before(async () => {
  await initBackend({ log: null });
  backbone = await loadBackbone(bundledEncoderDir());
});

test("loadBackbone picks BERT and WordPiece from config.json's model_type", () => {
  assert.equal(backbone.model.architecture, "bert");
  assert.ok(backbone.tokenizer instanceof WordPieceTokenizer);
  assert.equal(backbone.tokenizer.vocabSize, backbone.model.config.vocabSize);
  assert.equal(backbone.tokenizer.padId, 0);
});

test("tokenizeDataset reproduces the HF tokenizer's rows at context 16: [CLS] … [SEP], truncation, [PAD], mask", () => {
  const { batchSize: b, seqLength: t } = fx;
  const data = tokenizeDataset(backbone.tokenizer, fx.texts, new Int32Array(b), t);
  assert.deepEqual(Array.from(data.ids), fx.inputIds);
  const rows = batchTensors(data, [0, 1, 2, 3]);
  assert.deepEqual(Array.from(rows.attentionMask.dataSync()), fx.attentionMask);
  disposeBatch(rows);
  // Text 1 is longer than 16 pieces: truncated to 14 with [SEP] kept last, as HF does.
  assert.equal(data.lengths[1], 16);
  assert.equal(data.ids[16 + 15], 102);
  // The pair sentences, unpadded, as sentence-transformers tokenises them.
  const tk = backbone.tokenizer as WordPieceTokenizer;
  fx.pairs.flat().forEach((text, i) => {
    assert.deepEqual(tk.encodeWithSpecial(text), fx.pairInputIds[i], text);
  });
  // An empty text is [CLS] [SEP]; a literal "[SEP]" in the data stays text and cannot end a row early.
  const odd = tokenizeDataset(backbone.tokenizer, ["", "a [SEP] b"], new Int32Array(2), 8);
  assert.deepEqual(Array.from(odd.ids.subarray(0, 8)), [101, 102, 0, 0, 0, 0, 0, 0]);
  const asText = tk.encode("a [SEP] b", { allowedSpecial: "none" }); // a [ sep ] b
  assert.deepEqual(Array.from(odd.lengths), [2, asText.length + 2]);
  assert.deepEqual(Array.from(odd.ids.subarray(8, 8 + asText.length + 2)), [101, ...asText, 102]);
  // With HF's default (specials allowed) the text itself would hold a separator.
  assert.equal(tk.encode("a [SEP] b").filter((id) => id === 102).length, 1);
});

test("the tokenized rows drive the encoder to the reference sentence embeddings (≤ 1e-4)", () => {
  const data = tokenizeDataset(backbone.tokenizer, fx.texts, new Int32Array(fx.batchSize), fx.seqLength);
  const rows = batchTensors(data, [0, 1, 2, 3]);
  const { final } = backbone.model.forward(rows.inputIds, rows.attentionMask);
  const emb = tf.tidy(() => {
    const p = meanPool(final, rows.attentionMask);
    return tf.div(p, tf.norm(p, 2, 1, true));
  });
  const got = emb.dataSync();
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - fx.sentenceEmbeddings[i]!));
  assert.ok(worst <= 1e-4, `max abs error ${worst}`);
  tf.dispose([final, emb]);
  disposeBatch(rows);
});

test("side on the encoder binds texts, takes a finite DP step and evaluates, leaking no tensors", async () => {
  const before = tf.memory().numTensors;
  const scheme = createScheme("side", backbone, { numClasses: 2, reduction: 8 });
  const labels = Int32Array.from([0, 1, 1, 0]);
  const model = scheme.bind(fx.texts, labels, { contextLength: 16 });
  const step = model.clippedGradients(Int32Array.from([0, 1, 2, 3]), 1);
  assert.equal(step.norms.length, 4);
  for (const n of step.norms) assert.ok(Number.isFinite(n) && n > 0, `norm ${n}`);
  for (const [, g] of step.clippedSum) assert.ok(tf.tidy(() => tf.all(tf.isFinite(g)).dataSync()[0]) === 1);
  tf.dispose([...step.clippedSum.values()]);
  const ev = await scheme.evaluate(fx.texts, labels, { contextLength: 16 });
  assert.equal(ev.losses.length, 4);
  // The side network starts at the encoder's function: the classifier's loss is ≈ ln 2.
  assert.ok(Math.abs(ev.loss - Math.LN2) < 0.05, `loss ${ev.loss}`);
  scheme.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("loadBackbone: a BERT directory without vocab.txt is E_NO_BACKBONE; an unknown model_type is E_CONFIG", async () => {
  const dir = mkdtempSync(join(tmpdir(), "memarc-encoder-"));
  try {
    const code = (c: string, re: RegExp) => (e: unknown) =>
      e instanceof ModelError && e.code === c && re.test(e.message);
    await assert.rejects(loadBackbone(dir), code("E_NO_BACKBONE", /missing config\.json/));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "bert" }));
    writeFileSync(join(dir, "model.safetensors"), "");
    await assert.rejects(
      loadBackbone(dir),
      code("E_NO_BACKBONE", /not a bert backbone directory: missing vocab\.txt/),
    );
    writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "llama" }));
    await assert.rejects(loadBackbone(dir), code("E_CONFIG", /model_type "llama" is not supported/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
