import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { geluErf } from "../core/activations.js";
import { ModelError } from "../core/errors.js";
import type { F64Params } from "../gpt2/reference.js";
import { loadBackboneModel, loadBert, readArchitecture, saveBert } from "../node/hf-dirs.js";
import { readSafetensors, writeSafetensors } from "../safetensors/safetensors.js";
import { type BertConfig, bertConfigFromHF } from "./config.js";
import { Bert } from "./model.js";
import { erf64, referenceBertHidden } from "./reference.js";

before(async () => {
  await initBackend({ log: null });
});

const tiny: BertConfig = {
  nLayer: 2,
  nEmbd: 16,
  nHead: 4,
  nInner: 24,
  nPositions: 10,
  vocabSize: 23,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
};
const ids = [
  [2, 7, 1, 22, 5, 9, 3],
  [2, 4, 18, 3, 0, 0, 0],
];
const mask = [
  [1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 0, 0, 0],
];

function f64(m: Bert): F64Params {
  const out: F64Params = new Map();
  for (const [k, t] of m.params) out.set(k, { shape: t.shape, data: Float64Array.from(t.dataSync()) });
  return out;
}

/** A model with larger weights than BERT's init, so attention is far from uniform and tests are sharp. */
function sharp(seed: number): Bert {
  const m = Bert.random(tiny, seed, true);
  for (const [k, t] of m.params) {
    if (k.endsWith("weight") && !k.includes("LayerNorm")) {
      m.params.set(k, tf.mul(t, 8));
      t.dispose();
    }
  }
  return m;
}

test("forward matches an independent float64 loop implementation at every layer (rtol 1e-4), padding masked", () => {
  const m = sharp(3);
  const idT = tf.tensor2d(ids, undefined, "int32");
  const mT = tf.tensor2d(mask);
  const out = m.forward(idT, mT, { hidden: true });
  assert.equal(out.hidden!.length, tiny.nLayer + 1);
  const got = out.hidden!.map((h) => h.arraySync() as number[][][]);
  const ref = f64(m);
  let worst = 0;
  for (let b = 0; b < 2; b++) {
    const want = referenceBertHidden(ref, tiny, ids[b]!, mask[b]!);
    for (let l = 0; l <= tiny.nLayer; l++)
      for (let t = 0; t < ids[b]!.length; t++) {
        if (mask[b]![t] === 0) continue;
        for (let k = 0; k < tiny.nEmbd; k++) {
          const w = want[l]![t]![k]!;
          const g = got[l]![b]![t]![k]!;
          worst = Math.max(worst, Math.abs(g - w));
          assert.ok(Math.abs(g - w) <= 1e-4 * (Math.abs(w) + 0.1), `h${l} b${b} t${t} k${k}: ${g} vs ${w}`);
        }
      }
  }
  assert.ok(worst > 0, "the comparison must look at real values");
  // No final LayerNorm: the final states are h_L.
  assert.deepEqual(out.final.dataSync(), out.hidden![tiny.nLayer]!.dataSync());
  // Padding does not influence real positions: the unpadded prefix gives the same states.
  const short = m.forward(tf.tensor2d([[2, 4, 18, 3]], undefined, "int32"), tf.tensor2d([[1, 1, 1, 1]]));
  const s = short.final.arraySync() as number[][][];
  for (let t = 0; t < 4; t++)
    for (let k = 0; k < tiny.nEmbd; k++)
      assert.ok(Math.abs(s[0]![t]![k]! - got[tiny.nLayer]![1]![t]![k]!) < 1e-5, `t${t} k${k}`);
  // Bidirectional: changing the LAST token changes the FIRST position's state (causal would not).
  const edited = m.forward(tf.tensor2d([[2, 4, 18, 5]], undefined, "int32"), tf.tensor2d([[1, 1, 1, 1]]));
  const e = edited.final.arraySync() as number[][][];
  const moved = Math.max(...e[0]![0]!.map((v, k) => Math.abs(v - s[0]![0]![k]!)));
  assert.ok(moved > 1e-3, `first position moved only ${moved}`);
  tf.dispose([...out.hidden!, out.final, idT, mT, short.final, edited.final]);
  m.dispose();
});

test("forward with and without hidden states leaks no tensors; final can be disposed with the hidden states", () => {
  const m = Bert.random(tiny, 1);
  const idT = tf.tensor2d(ids, undefined, "int32");
  const mT = tf.tensor2d(mask);
  const before = tf.memory().numTensors;
  const a = m.forward(idT, mT, { hidden: true });
  tf.dispose([...a.hidden!, a.final]);
  const b = m.forward(idT, mT);
  assert.deepEqual(b.final.shape, [2, 7, 16]);
  b.final.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(
    () => m.forward(tf.zeros([1, 11], "int32") as tf.Tensor2D, tf.ones([1, 11]) as tf.Tensor2D),
    /exceeds nPositions 10/,
  );
  tf.dispose([idT, mT]);
  m.dispose();
});

test("geluErf: exact erf-GELU values; hand-written gradient equals autodiff of the formula", () => {
  const x = tf.linspace(-6, 6, 49);
  const xs = x.dataSync();
  const v = geluErf(x).dataSync();
  for (let i = 0; i < xs.length; i++) {
    const want = 0.5 * xs[i]! * (1 + erf64(xs[i]! / Math.SQRT2));
    assert.ok(
      Math.abs(v[i]! - want) < 2e-6 * Math.max(1, Math.abs(want)),
      `gelu(${xs[i]}) ${v[i]} vs ${want}`,
    );
  }
  const [g] = tf.grads((z: tf.Tensor) => tf.sum(tf.mul(geluErf(z), tf.sin(z))))([x]);
  const [r] = tf.grads((z: tf.Tensor) =>
    tf.sum(tf.mul(tf.mul(tf.mul(0.5, z), tf.add(1, tf.erf(tf.div(z, Math.SQRT2)))), tf.sin(z))),
  )([x]);
  const a = g!.dataSync();
  const b = r!.dataSync();
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5, `${a[i]} vs ${b[i]}`);
  // And erf64 itself against known values (Abramowitz & Stegun table 7.1).
  assert.ok(Math.abs(erf64(0.5) - 0.5204998778130465) < 1e-15);
  assert.ok(Math.abs(erf64(2) - 0.9953222650189527) < 1e-15);
  tf.dispose([x, g!, r!]);
});

test("HF layout round trip: torch Linear [out, in] in the file, [in, out] in memory; prefixes, pooler, gamma/beta", async () => {
  const dir = await mkdtemp(join(tmpdir(), "memarc-bert-"));
  try {
    const m = sharp(5);
    await saveBert(m, dir);
    const file = readSafetensors(new Uint8Array(await readFile(join(dir, "model.safetensors"))));
    // intermediate.dense: nn.Linear(16 → 24) is [24, 16] in the file; here x·W needs [16, 24].
    assert.deepEqual(file.tensors.get("encoder.layer.0.intermediate.dense.weight")!.shape, [24, 16]);
    assert.deepEqual(m.get("encoder.layer.0.intermediate.dense.weight").shape, [16, 24]);
    const w = m.get("encoder.layer.1.attention.self.query.weight").arraySync() as number[][];
    const fw = file.tensors.get("encoder.layer.1.attention.self.query.weight")!.data;
    assert.equal(fw[2 * 16 + 5], w[5]![2]); // file[out=2][in=5] = ours[in=5][out=2]
    const cfg = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    assert.equal(cfg.model_type, "bert");
    assert.equal(cfg.intermediate_size, 24);
    assert.equal(await readArchitecture(dir), "bert");
    const idT = tf.tensor2d(ids, undefined, "int32");
    const mT = tf.tensor2d(mask);
    const a = m.forward(idT, mT).final;
    const back = await loadBackboneModel(dir);
    assert.ok(back instanceof Bert);
    const b = back.forward(idT, mT).final;
    assert.deepEqual(a.dataSync(), b.dataSync());
    // BertFor… naming ("bert." prefix), old gamma/beta names, a pooler and a position_ids buffer load too.
    const renamed = new Map(
      [...file.tensors].map(([k, v]) => [
        `bert.${k.replace("embeddings.LayerNorm.weight", "embeddings.LayerNorm.gamma")}`,
        v,
      ]),
    );
    renamed.set("bert.pooler.dense.weight", { shape: [16, 16], data: new Float32Array(256) });
    renamed.set("bert.embeddings.position_ids", { shape: [1, 10], data: new Float32Array(10) });
    await writeFile(join(dir, "model.safetensors"), writeSafetensors(renamed));
    const again = await loadBert(dir);
    const c = again.forward(idT, mT).final;
    assert.deepEqual(a.dataSync(), c.dataSync());
    // A tensor this layout does not know, a missing one, or a Linear stored [in, out] is a clear error.
    const extra = new Map(renamed);
    extra.set("bert.encoder.layer.2.output.dense.bias", { shape: [16], data: new Float32Array(16) });
    await writeFile(join(dir, "model.safetensors"), writeSafetensors(extra));
    await assert.rejects(loadBert(dir), /1 tensors a 2-layer BERT does not use, e\.g\. encoder\.layer\.2/);
    const short = new Map(renamed);
    short.delete("bert.encoder.layer.1.output.LayerNorm.bias");
    await writeFile(join(dir, "model.safetensors"), writeSafetensors(short));
    await assert.rejects(loadBert(dir), /lacks 1 tensors, e\.g\. encoder\.layer\.1\.output\.LayerNorm\.bias/);
    const flipped = new Map(renamed);
    const fc = m.get("encoder.layer.0.intermediate.dense.weight");
    flipped.set("bert.encoder.layer.0.intermediate.dense.weight", {
      shape: [16, 24],
      data: fc.dataSync() as Float32Array,
    });
    await writeFile(join(dir, "model.safetensors"), writeSafetensors(flipped));
    await assert.rejects(
      loadBert(dir),
      /intermediate\.dense\.weight: shape \[16,24\] in file.*\[24,16\] \(\[out, in\]\)/,
    );
    tf.dispose([a, b, c, idT, mT]);
    m.dispose();
    back.dispose();
    again.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("config.json: BERT fields mapped; unsupported activation, positions, decoder and model types rejected", async () => {
  const base = {
    model_type: "bert",
    hidden_size: 384,
    num_hidden_layers: 6,
    num_attention_heads: 12,
    intermediate_size: 1536,
    max_position_embeddings: 512,
    vocab_size: 30522,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    hidden_act: "gelu",
  };
  assert.deepEqual(bertConfigFromHF(base), {
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
  });
  const bad = (o: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => bertConfigFromHF({ ...base, ...o }),
      (e: unknown) => e instanceof ModelError && e.code === "E_CONFIG" && re.test(e.message),
    );
  bad({ hidden_act: "gelu_new" }, /hidden_act "gelu_new" unsupported/);
  bad({ position_embedding_type: "relative_key" }, /position_embedding_type "relative_key"/);
  bad({ is_decoder: true }, /is_decoder/);
  bad({ model_type: "distilbert" }, /model_type "distilbert" is not bert or roberta/);
  bad({ model_type: "roberta", max_position_embeddings: 2 }, /leaves no position after the 2 reserved rows/);
  bad({ hidden_size: 380 }, /divisible/);
  const dir = await mkdtemp(join(tmpdir(), "memarc-arch-"));
  try {
    await writeFile(join(dir, "config.json"), JSON.stringify({ model_type: "t5" }));
    await assert.rejects(
      readArchitecture(dir),
      /model_type "t5" is not supported; expected one of gpt2, bert, roberta/,
    );
    await writeFile(join(dir, "config.json"), "{}");
    await assert.rejects(loadBackboneModel(dir), /model_type undefined is not supported/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
