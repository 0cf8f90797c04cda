import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type BackboneModel, SideScheme } from "@memarc/models";
import { bundledEncoderDir, loadBackboneModel } from "@memarc/models/node";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { selectFrozenEngine } from "./select.js";

const cache = mkdtempSync(join(tmpdir(), "memarc-select-"));
let encoder: BackboneModel;
before(async () => {
  await initBackend({ log: null });
  encoder = await loadBackboneModel(bundledEncoderDir());
});
after(() => {
  encoder.dispose();
  rmSync(cache, { recursive: true, force: true });
});

function maxAbs(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("frozen engine selection", () => {
  it("ONNX Runtime and tfjs agree on the bundled encoder: every hidden state and the pooled embedding to 1e-4", async () => {
    const dir = bundledEncoderDir();
    const onnx = await selectFrozenEngine({
      dir,
      model: encoder,
      request: "onnx",
      threads: 2,
      cacheDir: cache,
    });
    const tfjs = await selectFrozenEngine({ dir, model: encoder, request: "tfjs" });
    assert.equal(onnx.engine.name, "onnx");
    assert.equal(tfjs.engine.name, "tfjs");
    const b = 3;
    const t = 24;
    const lengths = [24, 11, 2];
    const ids = Int32Array.from({ length: b * t }, (_, i) => {
      const pos = i % t;
      if (pos >= lengths[Math.floor(i / t)]!) return 0;
      return pos === 0 ? 101 : 1000 + ((i * 7919) % 28000);
    });
    const mask = Float32Array.from({ length: b * t }, (_, i) =>
      i % t < lengths[Math.floor(i / t)]! ? 1 : 0,
    );
    const a = await onnx.engine.run(ids, mask, b, t);
    const r = await tfjs.engine.run(ids, mask, b, t);
    const d = r.dim;
    const real = (x: Float32Array) =>
      Float32Array.from(Array.from(x).filter((_, j) => mask[Math.floor(j / d)] === 1));
    assert.equal(a.hidden.length, r.hidden.length);
    for (const [l, h] of a.hidden.entries()) assert.ok(maxAbs(real(h), real(r.hidden[l]!)) <= 1e-4, `h${l}`);
    assert.ok(maxAbs(a.pooled, r.pooled) <= 1e-4, "pooled");
    await onnx.engine.dispose();
  });

  it("MEMARC_INFERENCE=tfjs, and auto when ONNX Runtime cannot load, fall back to tfjs with the reason; an explicit onnx fails", async () => {
    const dir = bundledEncoderDir();
    const env = await selectFrozenEngine({ dir, model: encoder, request: "tfjs" });
    assert.equal(env.engine.name, "tfjs");
    assert.equal(env.fallbackReason, null);
    const auto = await selectFrozenEngine({
      dir,
      model: encoder,
      request: "auto",
      simulateOnnxFailure: "libonnxruntime.so: cannot open",
    });
    assert.equal(auto.engine.name, "tfjs");
    assert.match(auto.fallbackReason ?? "", /ONNX Runtime unavailable: libonnxruntime\.so: cannot open/);
    await assert.rejects(
      selectFrozenEngine({ dir, model: encoder, request: "onnx", simulateOnnxFailure: "boom" }),
      (e: Error & { code?: string }) => e.code === "E_INFERENCE" && /MEMARC_INFERENCE=onnx/.test(e.message),
    );
    await assert.rejects(selectFrozenEngine({ dir, model: encoder, request: "gpu" }), /unknown engine "gpu"/);
  });

  it("side classification logits from ONNX Runtime's features equal those from tfjs's to 1e-4", async () => {
    const side = new SideScheme(encoder, { numClasses: 2, reduction: 8, initSeed: 3 });
    // A trained-looking side network: a non-zero up-projection, so the side path reaches the logits.
    const up = side.trainable.get("side.up.weight")!;
    up.assign(tf.randomNormal(up.shape, 0, 0.05, "float32", 7));
    const b = 2;
    const t = 16;
    const ids = Int32Array.from({ length: b * t }, (_, i) =>
      i % t === 0 ? 101 : 2000 + ((i * 131) % 20000),
    );
    const mask = Float32Array.from({ length: b * t }, (_, i) => (i % t < (i < t ? 16 : 9) ? 1 : 0));
    const batch = { inputIds: tf.tensor2d(ids, [b, t], "int32"), attentionMask: tf.tensor2d(mask, [b, t]) };
    const onnx = await selectFrozenEngine({
      dir: bundledEncoderDir(),
      model: encoder,
      request: "onnx",
      cacheDir: cache,
    });
    const f = await onnx.engine.run(ids, mask, b, t);
    const features = { hidden: f.hidden.map((h) => tf.tensor3d(h, [b, t, f.dim])) };
    const viaOnnx = side.classify({ ...batch, features });
    const viaTfjs = side.classify(batch);
    assert.ok(maxAbs(viaOnnx.dataSync() as Float32Array, viaTfjs.dataSync() as Float32Array) <= 1e-4);
    tf.dispose([viaOnnx, viaTfjs, ...features.hidden, batch.inputIds, batch.attentionMask]);
    side.dispose();
    await onnx.engine.dispose();
  });
});
