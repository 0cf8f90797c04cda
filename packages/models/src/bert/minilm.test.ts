/**
 * The vendored all-MiniLM-L6-v2 (packages/models/assets/all-minilm-l6-v2), loaded from its Hugging
 * Face directory, against fixtures/minilm-reference.json: a float64 numpy forward of the same F16
 * weights (scripts/make-bert-reference.py), cross-checked there against transformers and
 * sentence-transformers. Hidden states are compared at real tokens only (the fixture stores only
 * those), in float32 on the test backend. The tokenizer side (WordPiece ids = the fixture's ids) is
 * checked in @memarc/train, which owns tokenization.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import type { BackboneModel } from "../core/backbone.js";
import { meanPool } from "../core/losses.js";
import { bundledEncoderDir } from "../node/assets.js";
import { loadBackboneModel } from "../node/hf-dirs.js";

interface Fixture {
  batchSize: number;
  seqLength: number;
  hiddenSize: number;
  inputIds: number[];
  attentionMask: number[];
  hiddenStates: number[][];
  sentenceEmbeddings: number[];
  pairInputIds: number[][];
  numpySimilarities: number[];
  stSimilarities: number[];
}

const fx = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../fixtures/minilm-reference.json", import.meta.url)), "utf8"),
) as Fixture;

let model: BackboneModel;
before(async () => {
  await initBackend({ log: null });
  model = await loadBackboneModel(bundledEncoderDir());
});

/** L2-normalised mean of the final states over real tokens: sentence-transformers' embedding. */
function sentenceEmbeddings(ids: number[][], t: number): Float32Array {
  const rows = ids.map((r) => [...r, ...Array<number>(t - r.length).fill(0)]);
  const mask = ids.map((r) => Array.from({ length: t }, (_, k) => (k < r.length ? 1 : 0)));
  const idT = tf.tensor2d(rows, undefined, "int32");
  const mT = tf.tensor2d(mask);
  const { final } = model.forward(idT, mT);
  const e = tf.tidy(() => {
    const p = meanPool(final, mT);
    return tf.div(p, tf.norm(p, 2, 1, true));
  });
  const out = e.dataSync() as Float32Array;
  tf.dispose([idT, mT, final, e]);
  return out;
}

test("loads as BERT from config.json's model_type with MiniLM's shape", () => {
  assert.equal(model.architecture, "bert");
  assert.equal(model.causal, false);
  assert.deepEqual(
    { ...model.config },
    {
      nLayer: 6,
      nEmbd: 384,
      nHead: 12,
      nInner: 1536,
      nPositions: 512,
      vocabSize: 30522,
      typeVocabSize: 2,
      layerNormEps: 1e-12,
      family: "bert",
      positionOffset: 0,
    },
  );
});

test("hidden states h0..h6 and pooled L2-normalised embeddings match the numpy reference (≤ 1e-4)", (t) => {
  const { batchSize: b, seqLength: len, hiddenSize: d } = fx;
  const idT = tf.tensor2d(fx.inputIds, [b, len], "int32");
  const mT = tf.tensor2d(fx.attentionMask, [b, len]);
  const before = tf.memory().numTensors;
  const out = model.forward(idT, mT, { hidden: true });
  assert.equal(out.hidden!.length, fx.hiddenStates.length);
  const real = fx.attentionMask.flatMap((m, i) => (m === 1 ? [i] : []));
  const errors: number[] = [];
  out.hidden!.forEach((h, l) => {
    const got = h.dataSync();
    const want = fx.hiddenStates[l]!;
    assert.equal(want.length, real.length * d);
    let worst = 0;
    real.forEach((pos, r) => {
      for (let k = 0; k < d; k++) worst = Math.max(worst, Math.abs(got[pos * d + k]! - want[r * d + k]!));
    });
    errors.push(worst);
  });
  t.diagnostic(`max |h_l − reference|, l = 0..6: ${errors.map((e) => e.toExponential(2)).join(", ")}`);
  for (const [l, e] of errors.entries()) assert.ok(e <= 1e-4, `h${l}: max abs error ${e}`);
  tf.dispose([...out.hidden!, out.final]);
  assert.equal(tf.memory().numTensors, before);

  const rows = Array.from({ length: b }, (_, i) =>
    fx.inputIds.slice(i * len, (i + 1) * len).filter((_, k) => fx.attentionMask[i * len + k] === 1),
  );
  const emb = sentenceEmbeddings(rows, len);
  let worst = 0;
  for (let i = 0; i < emb.length; i++) worst = Math.max(worst, Math.abs(emb[i]! - fx.sentenceEmbeddings[i]!));
  t.diagnostic(`max |embedding − reference|: ${worst.toExponential(2)}`);
  assert.ok(worst <= 1e-4, `sentence embeddings: max abs error ${worst}`);
  tf.dispose([idT, mT]);
});

test("sentence-pair cosine similarities match sentence-transformers (≤ 1e-3) and the numpy reference", (t) => {
  const emb = sentenceEmbeddings(fx.pairInputIds, 16);
  const d = fx.hiddenSize;
  const diffs: { st: number; np: number }[] = [];
  for (let p = 0; p < fx.stSimilarities.length; p++) {
    let cos = 0;
    for (let k = 0; k < d; k++) cos += emb[2 * p * d + k]! * emb[(2 * p + 1) * d + k]!;
    diffs.push({
      st: Math.abs(cos - fx.stSimilarities[p]!),
      np: Math.abs(cos - fx.numpySimilarities[p]!),
    });
  }
  const st = Math.max(...diffs.map((x) => x.st));
  const np = Math.max(...diffs.map((x) => x.np));
  t.diagnostic(
    `max |cos − sentence-transformers| ${st.toExponential(2)}, |cos − numpy| ${np.toExponential(2)}`,
  );
  assert.ok(st <= 1e-3, `vs sentence-transformers: ${st}`);
  assert.ok(np <= 2e-5, `vs numpy reference: ${np}`);
});
