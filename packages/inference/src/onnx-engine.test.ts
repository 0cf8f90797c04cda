import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadGPT2 } from "@memarc/models/node";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { exportFrozenGraph, OnnxFrozenEngine } from "./onnx-engine.js";

const models = (p: string) => fileURLToPath(new URL(`../../models/${p}`, import.meta.url));
const ENCODER = models("assets/all-minilm-l6-v2");
const GPT2_DIR = models("assets/backbone");

interface Fixture {
  batchSize: number;
  seqLength: number;
  hiddenSize: number;
  inputIds: number[][];
  attentionMask: number[][];
  hiddenStates: number[][];
  /** [batch·hidden], L2-normalised mean pooling. */
  sentenceEmbeddings: number[];
}

const cache = mkdtempSync(join(tmpdir(), "memarc-onnx-"));
before(async () => {
  await initBackend({ log: null });
});
after(() => rmSync(cache, { recursive: true, force: true }));

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("ONNX Runtime frozen pass", () => {
  it("BERT (all-MiniLM-L6-v2): hidden states and pooled embedding match the numpy reference to 1e-4", async () => {
    const fx = JSON.parse(readFileSync(models("fixtures/minilm-reference.json"), "utf8")) as Fixture;
    const { batchSize: b, seqLength: t, hiddenSize: d } = fx;
    const engine = await OnnxFrozenEngine.create(ort, ENCODER, { threads: 1, cacheDir: cache });
    const out = await engine.run(
      Int32Array.from(fx.inputIds.flat()),
      Float32Array.from(fx.attentionMask.flat()),
      b,
      t,
    );
    assert.equal(out.hidden.length, 7);
    const real: number[] = [];
    fx.attentionMask.flat().forEach((m, i) => {
      if (m === 1) real.push(i);
    });
    let worst = 0;
    out.hidden.forEach((h, l) => {
      const got = real.flatMap((i) => Array.from(h.subarray(i * d, (i + 1) * d)));
      worst = Math.max(worst, maxAbs(got, fx.hiddenStates[l]!));
    });
    assert.ok(worst <= 1e-4, `hidden states max abs error ${worst}`);
    // Pooled = mean over real tokens; the fixture's embeddings are that, L2-normalised.
    for (let i = 0; i < b; i++) {
      const p = out.pooled.subarray(i * d, (i + 1) * d);
      const n = Math.hypot(...p);
      const err = maxAbs(
        Array.from(p, (v) => v / n),
        fx.sentenceEmbeddings.slice(i * d, (i + 1) * d),
      );
      assert.ok(err <= 1e-4, `embedding ${i}: max abs error ${err}`);
    }
    await engine.dispose();
  });

  it("RoBERTa (the tiny fixture): positions after pad_token_id; states and mean pooling match the numpy reference to 1e-4", async () => {
    const fx = JSON.parse(readFileSync(models("fixtures/roberta-reference.json"), "utf8")) as {
      batchSize: number;
      seqLength: number;
      hiddenSize: number;
      inputIds: number[];
      attentionMask: number[];
      hiddenStates: number[][];
      pooled: number[];
    };
    const { batchSize: b, seqLength: t, hiddenSize: d } = fx;
    const engine = await OnnxFrozenEngine.create(ort, models("fixtures/tiny-roberta"), {
      threads: 1,
      cacheDir: cache,
    });
    const out = await engine.run(Int32Array.from(fx.inputIds), Float32Array.from(fx.attentionMask), b, t);
    assert.equal(out.hidden.length, 3);
    const real = fx.attentionMask.flatMap((m, i) => (m === 1 ? [i] : []));
    out.hidden.forEach((h, l) => {
      const got = real.flatMap((i) => Array.from(h.subarray(i * d, (i + 1) * d)));
      const err = maxAbs(got, fx.hiddenStates[l]!);
      assert.ok(err <= 1e-4, `h${l}: max abs error ${err}`);
    });
    const err = maxAbs(out.pooled, fx.pooled);
    assert.ok(err <= 1e-4, `pooled: max abs error ${err}`);
    await engine.dispose();
  });

  it("GPT-2 (the bundled backbone): every hidden state and ln_f output equal the tfjs forward to 1e-4", async () => {
    const gpt2 = await loadGPT2(GPT2_DIR);
    const b = 3;
    const t = 12;
    const ids = Int32Array.from({ length: b * t }, (_, i) => (i * 37 + 11) % gpt2.config.vocabSize);
    const lengths = [12, 7, 3];
    const mask = Float32Array.from({ length: b * t }, (_, i) =>
      i % t < lengths[Math.floor(i / t)]! ? 1 : 0,
    );
    const engine = await OnnxFrozenEngine.create(ort, GPT2_DIR, { threads: 2, cacheDir: cache });
    const out = await engine.run(ids, mask, b, t);
    const ref = gpt2.forward(tf.tensor2d(ids, [b, t], "int32"), tf.tensor2d(mask, [b, t]), { hidden: true });
    // Compare at real tokens (padded positions are never read).
    const d = gpt2.config.nEmbd;
    const realOnly = (x: Float32Array) => Array.from(x).filter((_, j) => mask[Math.floor(j / d)] === 1);
    ref.hidden!.forEach((h, l) => {
      const e = maxAbs(realOnly(out.hidden[l]!), realOnly(h.dataSync() as Float32Array));
      assert.ok(e <= 1e-4, `h${l}: ${e}`);
    });
    assert.ok(maxAbs(realOnly(out.final), realOnly(ref.final.dataSync() as Float32Array)) <= 1e-4);
    tf.dispose([...ref.hidden!, ref.final]);
    gpt2.dispose();
    await engine.dispose();
  });

  it("caches the export by the weights' hash and rebuilds only when they change", () => {
    const first = exportFrozenGraph(GPT2_DIR, { cacheDir: cache });
    const again = exportFrozenGraph(GPT2_DIR, { cacheDir: cache });
    assert.equal(again.path, first.path);
    assert.equal(again.built, false);
    const other = exportFrozenGraph(ENCODER, { cacheDir: cache });
    assert.notEqual(other.path, first.path);
  });
});
