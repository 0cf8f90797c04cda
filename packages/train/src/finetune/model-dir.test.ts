/**
 * A saved model directory reproduces the model: the same class probabilities bit for bit after
 * saveModelDir → loadModelDir (side on the bundled encoder, with a non-trivial trained part; and
 * logreg), and a tampered weights file or a different backbone is refused.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { bundledEncoderDir } from "@memarc/models/node";
import { initBackend } from "@memarc/tensor";
import { loadBackbone } from "../node/backbone-dir.js";
import { loadModelDir, MODEL_MANIFEST, MODEL_WEIGHTS, saveModelDir } from "./model-dir.js";
import { createScheme } from "./schemes.js";

const texts = [
  "Congratulations! You have won a FREE cruise, reply now to claim",
  "Can we move tomorrow's meeting to 3pm? Thanks, Anna",
  "cheap meds online no prescription",
  "The patch fixes the race in the scheduler; tests attached.",
];
const labels = new Int32Array([1, 0, 1, 0]);
const dir = mkdtempSync(join(tmpdir(), "memarc-model-dir-"));

/** Deterministic non-zero values, so the side network's up-projection and head are not trivial. */
function perturbed(w: Record<string, Float32Array>): Record<string, Float32Array> {
  let s = 12345;
  return Object.fromEntries(
    Object.entries(w).map(([k, v]) => [
      k,
      Float32Array.from(v, (x) => {
        s = (s * 1103515245 + 12345) % 2 ** 31;
        return x + (s / 2 ** 31 - 0.5) * 0.05;
      }),
    ]),
  );
}

before(async () => {
  await initBackend({ log: null });
});

describe("model directory", { timeout: 300_000 }, () => {
  it("side on the bundled encoder: loading reproduces the probabilities exactly", async () => {
    const backbone = await loadBackbone(bundledEncoderDir());
    const scheme = createScheme("side", backbone, { numClasses: 2, seed: 3, reduction: 16 });
    scheme.importTrainable(perturbed(scheme.exportTrainable()));
    const o = { contextLength: 16 };
    const before = (await scheme.evaluate(texts, labels, o)).probabilities;
    const out = join(dir, "side");
    const manifest = saveModelDir(out, {
      scheme,
      schemeOptions: { reduction: 16 },
      classNames: ["ham", "spam"],
      contextLength: 16,
      backboneDir: bundledEncoderDir(),
      privacy: null,
      createdBy: "model-dir.test",
    });
    assert.deepEqual(manifest.backbone, { bundled: "all-minilm-l6-v2" });
    scheme.dispose();
    const loaded = await loadModelDir(out);
    const after = (await loaded.scheme.evaluate(texts, labels, o)).probabilities;
    assert.equal(after.length, texts.length * 2);
    assert.deepEqual(Array.from(after), Array.from(before));
    assert.ok(new Set(Array.from(after).map((p) => p.toFixed(4))).size > 2, "probabilities are all alike");
    loaded.scheme.dispose();
    loaded.backbone?.model.dispose();
    backbone.model.dispose();

    // A flipped byte in the trained weights, or another backbone: refused with E_MODEL_DIR.
    const tampered = join(dir, "side-tampered");
    cpSync(out, tampered, { recursive: true });
    const bytes = readFileSync(join(tampered, MODEL_WEIGHTS));
    bytes[bytes.length - 3]! ^= 0xff;
    writeFileSync(join(tampered, MODEL_WEIGHTS), bytes);
    await assert.rejects(loadModelDir(tampered), (e: Error & { code?: string }) => {
      return e.code === "E_MODEL_DIR" && /SHA-256/.test(e.message);
    });
    const other = join(dir, "side-other-backbone");
    cpSync(out, other, { recursive: true });
    const m = JSON.parse(readFileSync(join(other, MODEL_MANIFEST), "utf8"));
    m.backboneSha256 = "0".repeat(64);
    writeFileSync(join(other, MODEL_MANIFEST), JSON.stringify(m));
    await assert.rejects(loadModelDir(other), /not the one this model was trained on/);
  });

  it("logreg: loads without binding a training set and gives the same probabilities", async () => {
    const scheme = createScheme("logreg", null, { numClasses: 2, hashDim: 64 });
    scheme.bind(texts, labels, { contextLength: 1 });
    scheme.importTrainable(perturbed(scheme.exportTrainable()));
    const before = (await scheme.evaluate(texts, labels, { contextLength: 1 })).probabilities;
    const out = join(dir, "logreg");
    saveModelDir(out, {
      scheme,
      schemeOptions: { hashDim: 64 },
      classNames: ["ham", "spam"],
      contextLength: null,
      backboneDir: null,
      privacy: null,
      createdBy: "model-dir.test",
    });
    const loaded = await loadModelDir(out);
    const after = (await loaded.scheme.evaluate(texts, labels, { contextLength: 1 })).probabilities;
    assert.deepEqual(Array.from(after), Array.from(before));
    loaded.scheme.dispose();
    scheme.dispose();
  });

  it("probe (pooled encoder embedding): unit-norm features, and loading reproduces the probabilities", async () => {
    const backbone = await loadBackbone(bundledEncoderDir());
    const scheme = createScheme("probe", backbone, { numClasses: 2 });
    // Shapes and initial weights are known before any data is bound (a coordinator needs them first).
    const initial = scheme.exportTrainable();
    assert.equal(initial.weight!.length, 384 * 2);
    assert.ok(initial.bias!.every((x) => x === 0));
    assert.deepEqual(scheme.params.get("weight")!.shape, [384, 2]);
    const o = { contextLength: 16 };
    scheme.bind(texts, labels, o);
    assert.equal(scheme.trainableParamCount(), (384 + 1) * 2);
    scheme.importTrainable(perturbed(scheme.exportTrainable()));
    const before = (await scheme.evaluate(texts, labels, o)).probabilities;
    const out = join(dir, "probe");
    saveModelDir(out, {
      scheme,
      schemeOptions: {},
      classNames: ["ham", "spam"],
      contextLength: 16,
      backboneDir: bundledEncoderDir(),
      privacy: null,
      createdBy: "model-dir.test",
    });
    scheme.dispose();
    const loaded = await loadModelDir(out);
    const after = (await loaded.scheme.evaluate(texts, labels, o)).probabilities;
    assert.deepEqual(Array.from(after), Array.from(before));
    loaded.scheme.dispose();
    loaded.backbone?.model.dispose();
    backbone.model.dispose();
  });

  it("a directory that is not a model says so", async () => {
    await assert.rejects(loadModelDir(dir), /no memarc\.json: not a model directory/);
  });
});
