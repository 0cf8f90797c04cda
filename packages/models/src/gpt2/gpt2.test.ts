import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { loadGPT2, saveGPT2 } from "../node/hf-dirs.js";
import { readSafetensors, writeSafetensors } from "../safetensors/safetensors.js";
import type { GPT2Config } from "./config.js";
import { GPT2 } from "./model.js";
import { type F64Params, referenceLogits } from "./reference.js";

before(async () => {
  await initBackend({ log: null });
});

const tiny: GPT2Config = {
  nLayer: 2,
  nEmbd: 16,
  nHead: 2,
  nPositions: 12,
  vocabSize: 23,
  layerNormEps: 1e-5,
};
const ids = [
  [3, 7, 1, 22, 5, 9],
  [4, 4, 18, 0, 0, 0],
];
const mask = [
  [1, 1, 1, 1, 1, 1],
  [1, 1, 1, 0, 0, 0],
];

function f64(m: GPT2): F64Params {
  const out: F64Params = new Map();
  for (const [k, t] of m.params) out.set(k, { shape: t.shape, data: Float64Array.from(t.dataSync()) });
  return out;
}

test("forward matches an independent float64 loop implementation (rtol 1e-4), padding masked", () => {
  const m = GPT2.random(tiny, 3, true);
  // Larger weights than GPT-2's init so attention is far from uniform and the test is sharp.
  for (const [k, t] of m.params) {
    if (k.endsWith("weight") && !k.includes("ln")) {
      m.params.set(k, tf.mul(t, 8));
      t.dispose();
    }
  }
  const idT = tf.tensor2d(ids, undefined, "int32");
  const mT = tf.tensor2d(mask);
  const logits = m.logits(idT, mT);
  const got = logits.arraySync() as number[][][];
  const ref = f64(m);

  for (let b = 0; b < 2; b++) {
    const want = referenceLogits(ref, tiny, ids[b]!, mask[b]!);
    for (let t = 0; t < 6; t++) {
      if (mask[b]![t] === 0) continue;
      for (let v = 0; v < tiny.vocabSize; v++) {
        const w = want[t]![v]!;
        const g = got[b]![t]![v]!;
        const rel = Math.abs(g - w) / (Math.abs(w) + 1e-3);
        assert.ok(rel < 1e-4, `b${b} t${t} v${v}: ${g} vs ${w}`);
      }
    }
  }
  // Padding must not influence real positions: same prefix without padding gives the same logits.
  const short = m.logits(tf.tensor2d([[4, 4, 18]], undefined, "int32"), tf.tensor2d([[1, 1, 1]]));
  const s = short.arraySync() as number[][][];
  for (let t = 0; t < 3; t++)
    for (let v = 0; v < tiny.vocabSize; v++) assert.ok(Math.abs(s[0]![t]![v]! - got[1]![t]![v]!) < 1e-5);
  tf.dispose([logits, idT, mT, short]);
  m.dispose();
});

test("forward returns L+1 hidden states and does not leak", () => {
  const m = GPT2.random(tiny, 1);
  const idT = tf.tensor2d(ids, undefined, "int32");
  const mT = tf.tensor2d(mask);
  const before = tf.memory().numTensors;
  const out = m.forward(idT, mT, { hidden: true });
  assert.equal(out.hidden!.length, tiny.nLayer + 1);
  assert.deepEqual(out.final.shape, [2, 6, 16]);
  tf.dispose([...out.hidden!, out.final]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([idT, mT]);
  m.dispose();
});

test("HF layout round trip: save, reload, identical logits; GPT2Model names and lm_head accepted", async () => {
  const dir = await mkdtemp(join(tmpdir(), "memarc-gpt2-"));
  try {
    const m = GPT2.random(tiny, 5, true);
    await saveGPT2(m, dir);
    const file = readSafetensors(new Uint8Array(await readFile(join(dir, "model.safetensors"))));
    assert.ok(file.tensors.has("transformer.h.1.attn.c_attn.weight"));
    assert.deepEqual(file.tensors.get("transformer.h.0.mlp.c_fc.weight")!.shape, [16, 64]); // Conv1D [in,out]
    assert.equal(file.metadata["format"], "pt");
    const cfg = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    assert.equal(cfg.n_layer, 2);
    assert.equal(cfg.model_type, "gpt2");
    const back = await loadGPT2(dir);
    const idT = tf.tensor2d(ids, undefined, "int32");
    const mT = tf.tensor2d(mask);
    const a = m.logits(idT, mT);
    const b = back.logits(idT, mT);
    assert.deepEqual(a.dataSync(), b.dataSync());
    // The GPT2Model naming (no prefix) with HF's attention buffers and an explicit lm_head also loads.
    const renamed = new Map([...file.tensors].map(([k, v]) => [k.replace(/^transformer\./, ""), v]));
    renamed.set("h.0.attn.bias", { shape: [1, 1, 12, 12], data: new Float32Array(144) });
    renamed.set("lm_head.weight", file.tensors.get("transformer.wte.weight")!);
    await writeFile(join(dir, "model.safetensors"), writeSafetensors(renamed));
    const again = await loadGPT2(dir);
    const c = again.logits(idT, mT);
    assert.deepEqual(a.dataSync(), c.dataSync());
    // A missing tensor is a clear error.
    renamed.delete("h.1.ln_2.bias");
    await writeFile(join(dir, "model.safetensors"), writeSafetensors(renamed));
    await assert.rejects(loadGPT2(dir), /lacks 1 tensors, e.g. h\.1\.ln_2\.bias/);
    tf.dispose([a, b, c, idT, mT]);
    m.dispose();
    back.dispose();
    again.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("geluTanh's hand-written gradient equals autodiff of the formula", async () => {
  const { geluTanh } = await import("./block.js");
  const x = tf.linspace(-5, 5, 41);
  const [g] = tf.grads((z: tf.Tensor) => tf.sum(tf.mul(geluTanh(z), tf.sin(z))))([x]);
  const c = Math.sqrt(2 / Math.PI);
  const [r] = tf.grads((z: tf.Tensor) =>
    tf.sum(
      tf.mul(
        tf.mul(tf.mul(0.5, z), tf.add(1, tf.tanh(tf.mul(c, tf.add(z, tf.mul(0.044715, tf.pow(z, 3))))))),
        tf.sin(z),
      ),
    ),
  )([x]);
  const a = g!.dataSync();
  const b = r!.dataSync();
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5, `${a[i]} vs ${b[i]}`);
  tf.dispose([x, g!, r!]);
});
