/**
 * RoBERTa through the BERT network: the tiny RoBERTa of scripts/make-roberta-reference.py (Hugging
 * Face layout, "roberta." names, an lm_head, positions from pad_token_id + 1) against that script's
 * float64 numpy forward with transformers' position ids. Hidden states at real tokens ≤ 1e-4.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { meanPool } from "../core/losses.js";
import { loadBackboneModel, loadBert, readArchitecture, saveBert } from "../node/hf-dirs.js";
import { readSafetensors } from "../safetensors/safetensors.js";
import { bertConfigFromHF } from "./config.js";
import type { Bert } from "./model.js";
import { BERT_EMBEDDINGS } from "./params.js";

const DIR = fileURLToPath(new URL("../../fixtures/tiny-roberta", import.meta.url));

interface Fixture {
  batchSize: number;
  seqLength: number;
  hiddenSize: number;
  inputIds: number[];
  attentionMask: number[];
  hiddenStates: number[][];
  pooled: number[];
}

const fx = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../fixtures/roberta-reference.json", import.meta.url)), "utf8"),
) as Fixture;

before(async () => {
  await initBackend({ log: null });
});

/** Largest |got − want| over the real tokens of a [B, T, d] state against the fixture's real-token rows. */
function realTokenError(got: Float32Array | Int32Array | Uint8Array, want: number[]): number {
  const d = fx.hiddenSize;
  const real = fx.attentionMask.flatMap((m, i) => (m === 1 ? [i] : []));
  assert.equal(want.length, real.length * d);
  let worst = 0;
  real.forEach((pos, r) => {
    for (let k = 0; k < d; k++) worst = Math.max(worst, Math.abs(got[pos * d + k]! - want[r * d + k]!));
  });
  return worst;
}

function forwardErrors(model: Bert): { hidden: number[]; pooled: number } {
  const { batchSize: b, seqLength: t } = fx;
  const ids = tf.tensor2d(fx.inputIds, [b, t], "int32");
  const mask = tf.tensor2d(fx.attentionMask, [b, t]);
  const out = model.forward(ids, mask, { hidden: true });
  const hidden = out.hidden!.map((h, l) => realTokenError(h.dataSync(), fx.hiddenStates[l]!));
  const p = meanPool(out.final, mask);
  const got = p.dataSync();
  const pooled = Math.max(...fx.pooled.map((v, i) => Math.abs(v - got[i]!)));
  tf.dispose([ids, mask, out.final, ...out.hidden!, p]);
  return { hidden, pooled };
}

test("config.json with model_type roberta loads as BERT's network with positions after pad_token_id", async () => {
  assert.equal(await readArchitecture(DIR), "roberta");
  const model = (await loadBackboneModel(DIR)) as Bert;
  try {
    assert.equal(model.architecture, "roberta");
    assert.equal(model.causal, false);
    assert.deepEqual(
      { ...model.config },
      {
        nLayer: 2,
        nEmbd: 32,
        nHead: 4,
        nInner: 64,
        nPositions: 18,
        vocabSize: 1000,
        typeVocabSize: 1,
        layerNormEps: 1e-5,
        family: "roberta",
        positionOffset: 2,
      },
    );
    // RoBERTa's config defaults are its own, not BERT's.
    const c = bertConfigFromHF({
      model_type: "roberta",
      hidden_size: 8,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 16,
      max_position_embeddings: 514,
      vocab_size: 50265,
    });
    assert.deepEqual([c.positionOffset, c.nPositions, c.typeVocabSize, c.layerNormEps], [2, 512, 1, 1e-5]);
  } finally {
    model.dispose();
  }
});

test("hidden states h0..h2 and the pooled state match transformers' semantics in numpy (≤ 1e-4)", async (t) => {
  const model = (await loadBackboneModel(DIR)) as Bert;
  try {
    const err = forwardErrors(model);
    t.diagnostic(
      `max |h_l − reference| ${err.hidden.map((e) => e.toExponential(2)).join(", ")}; pooled ${err.pooled.toExponential(2)}`,
    );
    assert.equal(err.hidden.length, 3);
    for (const [l, e] of err.hidden.entries()) assert.ok(e <= 1e-4, `h${l}: ${e}`);
    assert.ok(err.pooled <= 1e-4, `pooled: ${err.pooled}`);
  } finally {
    model.dispose();
  }
});

test("without the offset the states differ: the test sees RoBERTa's positions", async () => {
  const model = (await loadBackboneModel(DIR)) as Bert;
  try {
    // Rows 0.. of our table are the file's rows 2..; reading the file's rows from 0 instead (BERT's
    // numbering) must move h0 far beyond the tolerance.
    const file = readSafetensors(new Uint8Array(await readFile(join(DIR, "model.safetensors"))));
    const table = file.tensors.get(`roberta.${BERT_EMBEDDINGS.position}`)!;
    const d = fx.hiddenSize;
    const ours = model.get(BERT_EMBEDDINGS.position).dataSync();
    assert.deepEqual(Array.from(ours.subarray(0, d)), Array.from(table.data.subarray(2 * d, 3 * d)));
    model.get(BERT_EMBEDDINGS.position).dispose();
    model.params.set(BERT_EMBEDDINGS.position, tf.tensor2d(table.data.subarray(0, 18 * d), [18, d]));
    assert.ok(forwardErrors(model).hidden[0]! > 1e-3);
  } finally {
    model.dispose();
  }
});

test("save → load round trip writes RoBERTa's layout: the offset rows back, zero, and max_position_embeddings", async () => {
  const model = await loadBert(DIR);
  const dir = await mkdtemp(join(tmpdir(), "memarc-roberta-"));
  try {
    await saveBert(model, dir);
    const cfg = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(
      [cfg["model_type"], cfg["max_position_embeddings"], cfg["pad_token_id"], cfg["type_vocab_size"]],
      ["roberta", 20, 1, 1],
    );
    const file = readSafetensors(new Uint8Array(await readFile(join(dir, "model.safetensors"))));
    const pos = file.tensors.get(BERT_EMBEDDINGS.position)!;
    assert.deepEqual(pos.shape, [20, fx.hiddenSize]);
    assert.ok(pos.data.subarray(0, 2 * fx.hiddenSize).every((v) => v === 0));
    const again = await loadBert(dir);
    try {
      assert.deepEqual({ ...again.config }, { ...model.config });
      const err = forwardErrors(again);
      for (const e of err.hidden) assert.ok(e <= 1e-4);
    } finally {
      again.dispose();
    }
  } finally {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});
