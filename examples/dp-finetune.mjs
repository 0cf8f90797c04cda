// @ts-check
/**
 * Differentially private fine-tuning from code: DP-SGD on the bundled SpamAssassin corpus with
 * `runFinetune`, then the same guarantee recomputed with the privacy accountants, and the model saved
 * to (and reloaded from) a model directory.
 *
 *   node examples/dp-finetune.mjs            # after `npm install @memarc/train @memarc/data …`
 *
 * The scheme is `logreg` (a hashed bag-of-words logistic regression: no backbone, runs in seconds);
 * swap in `createScheme("side", await loadBackbone(bundledEncoderDir()), …)` for the transformer
 * schemes. Progress goes to stderr; the last line of stdout is one JSON object.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getSpamAssassin } from "@memarc/data/node";
import { createAccountant } from "@memarc/privacy";
import { initBackend } from "@memarc/tensor";
import { createScheme, runFinetune } from "@memarc/train";
import { loadModelDir, saveModelDir } from "@memarc/train/node";

const EPSILON = 3;
const DELTA = 1e-5;

// MEMARC_BACKEND=auto|tensorflow|wasm|cpu picks where tensors live (auto: the fastest that loads).
const backend = await initBackend({ log: null });

// 6,046 e-mails, decoded and cleaned; deduplicated and split 80/20 (seeded, not privacy-relevant).
const { train, test } = getSpamAssassin();
const scheme = createScheme("logreg", null, { numClasses: train.numClasses, hashDim: 4096 });

// q = batchSize / N, steps = epochs / q, and σ is calibrated so that the run spends at most ε.
const result = await runFinetune({
  scheme,
  dataset: { train, test },
  epsilon: EPSILON,
  delta: DELTA,
  epochs: 2,
  batchSize: 128,
  lr: 0.05,
  optimizer: "adam",
  clipNorm: 1,
  contextLength: 1, // ignored by logreg (no tokens)
  onProgress: (p) => {
    if (p.phase === "train" && (p.done % 25 === 0 || p.done === p.total))
      process.stderr.write(
        `step ${p.done}/${p.total}  loss ${p.loss?.toFixed(4)}  ε ${p.epsilon?.().toFixed(3)}\n`,
      );
  },
});

// The guarantee, recomputed from the mechanism alone: T steps of the Poisson-subsampled Gaussian.
const event = { noiseMultiplier: result.noiseMultiplier, sampleRate: result.sampleRate, steps: result.steps };
const rdpEpsilon = createAccountant("rdp").step(event).getEpsilon(DELTA);
const pldEpsilon = createAccountant("pld").step(event).getEpsilon(DELTA); // tighter bound, same mechanism

// A model directory (memarc.json + trainable.safetensors) that `memarc predict --model DIR` also reads.
const dir = mkdtempSync(join(tmpdir(), "memarc-example-model-"));
try {
  saveModelDir(dir, {
    scheme,
    schemeOptions: { hashDim: 4096 },
    classNames: train.classNames,
    contextLength: null,
    backboneDir: null,
    privacy: {
      epsilon: result.epsilon,
      delta: DELTA,
      unit: "example",
      accountant: "rdp",
      dpSgd: { ...event, clipNorm: result.clipNorm },
    },
    createdBy: "examples/dp-finetune.mjs",
  });
  const loaded = await loadModelDir(dir);
  const reloaded = await loaded.scheme.evaluate(test.texts, test.labels, { contextLength: 1 });
  loaded.scheme.dispose();

  console.log(
    JSON.stringify({
      example: "dp-finetune",
      backend: backend.name,
      scheme: result.scheme,
      trainExamples: result.trainExamples,
      testExamples: result.testExamples,
      targetEpsilon: EPSILON,
      epsilon: result.epsilon,
      rdpEpsilon,
      pldEpsilon,
      delta: DELTA,
      noiseMultiplier: result.noiseMultiplier,
      sampleRate: result.sampleRate,
      steps: result.steps,
      testAccuracy: result.testAccuracy,
      reloadedAccuracy: reloaded.accuracy,
      wallSeconds: result.wallSeconds,
    }),
  );
} finally {
  scheme.dispose();
  rmSync(dir, { recursive: true, force: true });
}
