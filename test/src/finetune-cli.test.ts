/** End-to-end tests of `memarc finetune`: the real binary on SpamAssassin, its JSON contract and flag checks. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { TRAINING_PRESETS } from "@memarc/train";
import { runMemarc } from "./cli-run.js";
import { saveTinyGpt2 } from "./tiny-gpt2.js";

interface FinetuneJson {
  scheme: string;
  epsilon: number | null;
  delta: number;
  noiseMultiplier: number;
  steps: number;
  threads: number;
  testAccuracy: number;
  peakBytes: number;
  examplesPerSecond: number;
  private: boolean;
  targetEpsilon: number | null;
  plannedSteps: number;
  sampleRate: number;
  trainExamples: number;
  testExamples: number;
  stoppedByBudget: boolean;
  contextLength: number | null;
  optimizer: string;
  lr: number;
  batchSize: number;
  epochs: number;
  clipNorm: number | null;
}

const REQUIRED = [
  "scheme",
  "epsilon",
  "delta",
  "noiseMultiplier",
  "steps",
  "testAccuracy",
  "peakBytes",
  "examplesPerSecond",
];

let modelDir = "";

before(async () => {
  modelDir = await saveTinyGpt2(mkdtempSync(join(tmpdir(), "memarc-finetune-")));
});

after(() => {
  rmSync(modelDir, { recursive: true, force: true });
});

async function finetune(args: string[]): Promise<{ json: FinetuneJson; stderr: string }> {
  const r = await runMemarc(["finetune", "--dataset", "spam-assassin", ...args, "--json"], {}, 60_000);
  assert.equal(r.code, 0, r.stderr);
  const json = r.json as FinetuneJson;
  for (const k of REQUIRED) assert.ok(k in json, `missing "${k}" in ${JSON.stringify(json)}`);
  return { json, stderr: r.stderr };
}

/** side on the tiny test backbone: 240 examples of 16 tokens, a narrow side network, one feature cache. */
function smallSide(): string[] {
  return [
    ...["--scheme", "side", "--model", modelDir, "--context", "16", "--limit", "240", "--reduction", "4"],
    ...["--feature-cache", join(modelDir, "features")],
  ];
}

describe("memarc finetune", () => {
  it("logreg baseline at ε = 3: JSON contract, ε spent ≤ target, progress on stderr", async () => {
    const { json, stderr } = await finetune([
      "--scheme",
      "logreg",
      "--epsilon",
      "3",
      "--delta",
      "1e-5",
      "--epochs",
      "2",
      "--batch-size",
      "128",
      "--lr",
      "0.05",
    ]);
    assert.equal(json.scheme, "logreg");
    assert.equal(json.trainExamples, 4699);
    assert.equal(json.testExamples, 1175);
    assert.equal(json.sampleRate, 128 / 4699);
    assert.equal(json.plannedSteps, Math.round(2 / (128 / 4699)));
    assert.equal(json.steps, json.plannedSteps);
    assert.ok(json.epsilon !== null && json.epsilon <= 3 && json.epsilon > 2.9, `ε ${json.epsilon}`);
    assert.equal(json.delta, 1e-5);
    assert.ok(json.noiseMultiplier > 0.5 && json.noiseMultiplier < 5);
    assert.ok(json.testAccuracy > 0.75 && json.testAccuracy <= 1, `accuracy ${json.testAccuracy}`);
    assert.ok(json.peakBytes >= 32 * 4096 * 4, `peak ${json.peakBytes}`); // one micro-batch of hashed features
    assert.ok(json.examplesPerSecond > 0);
    // Progress with rate and ETA: "step 2/73 (0.3 s/step, ETA 19 s)  loss 0.6198 … ε 1.824".
    assert.match(stderr, /step \d+\/\d+ \([\d.]+ s\/step, ETA \d+ s\) {2}loss [\d.]+ .* ε [\d.]+/);
  });

  it("side scheme on a small backbone (--model, --context): ε spent ≤ target", async () => {
    const { json, stderr } = await finetune([
      ...smallSide(),
      ...["--epsilon", "8", "--delta", "1e-5", "--epochs", "1", "--batch-size", "48", "--threads", "2"],
    ]);
    assert.equal(json.scheme, "side");
    assert.equal(json.threads, 2); // DP steps' micro-batches on two worker threads
    assert.equal(json.contextLength, 16);
    assert.equal(json.trainExamples, 240);
    assert.equal(json.testExamples, 60);
    assert.equal(json.steps, 5);
    assert.ok(json.epsilon !== null && json.epsilon <= 8, `ε ${json.epsilon}`);
    assert.ok(json.testAccuracy >= 0 && json.testAccuracy <= 1);
    assert.ok(json.peakBytes > 0);
    assert.match(stderr, /caching backbone features 240\/240/);
    // Train and test features were written once, keyed by weights + tokens, for later runs to reuse.
    assert.equal(readdirSync(join(modelDir, "features")).length, 2);
  });

  it("side with --epsilon inf takes its non-private preset (unclipped gradients: not SGD at lr 1)", async () => {
    const { json } = await finetune([...smallSide(), "--epsilon", "inf"]);
    const p = TRAINING_PRESETS.side;
    assert.ok(p.nonPrivate, "side has a non-private override");
    assert.equal(json.private, false);
    assert.equal(json.clipNorm, null);
    assert.equal(json.optimizer, p.nonPrivate.optimizer);
    assert.equal(json.lr, p.nonPrivate.lr);
    assert.equal(json.batchSize, p.nonPrivate.batchSize);
    assert.equal(json.epochs, p.nonPrivate.epochs);
    // A flag still wins over the override.
    const given = await finetune([...smallSide(), "--epsilon", "inf", "--lr", "0.002", "--steps", "1"]);
    assert.equal(given.json.lr, 0.002);
    assert.equal(given.json.optimizer, p.nonPrivate.optimizer);
    // Features were reused, not recomputed.
    assert.equal(readdirSync(join(modelDir, "features")).length, 2);
  });

  it("side and lora on a RoBERTa directory (--model): DP fine-tune, export, and predict from the export", async () => {
    const roberta = fileURLToPath(new URL("../../packages/models/fixtures/tiny-roberta", import.meta.url));
    const out = join(modelDir, "roberta-lora");
    for (const scheme of ["side", "lora"]) {
      const { json } = await finetune([
        ...["--scheme", scheme, "--model", roberta, "--context", "16", "--limit", "120"],
        ...["--epsilon", "8", "--delta", "1e-5", "--epochs", "1", "--batch-size", "40", "--threads", "1"],
        ...(scheme === "lora" ? ["--out", out] : ["--reduction", "4"]),
      ]);
      assert.equal(json.scheme, scheme);
      assert.ok(json.epsilon !== null && json.epsilon <= 8, `ε ${json.epsilon}`);
      assert.ok(json.testAccuracy >= 0 && json.testAccuracy <= 1);
    }
    const p = await runMemarc([
      "predict",
      "--model",
      out,
      "--text",
      "FREE money!!!",
      "--text",
      "Hi",
      "--json",
    ]);
    assert.equal(p.code, 0, p.stderr);
    const rows = (p.json as { predictions: { probabilities: Record<string, number> }[] }).predictions;
    assert.equal(rows.length, 2);
    for (const r of rows) {
      const sum = Object.values(r.probabilities).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5, `probabilities sum to ${sum}`);
    }
  });

  it("--epsilon inf trains without privacy: no noise, ε reported as null", async () => {
    const { json } = await finetune([
      "--scheme",
      "logreg",
      "--epsilon",
      "inf",
      "--epochs",
      "1",
      "--lr",
      "0.05",
    ]);
    assert.equal(json.private, false);
    assert.equal(json.epsilon, null);
    assert.equal(json.noiseMultiplier, 0);
    assert.ok(json.testAccuracy > 0.85, `accuracy ${json.testAccuracy}`);
  });

  it("bad flags exit 2 and name the flag", async () => {
    const cases: [string[], RegExp][] = [
      [["--scheme", "bogus", "--epsilon", "1", "--delta", "1e-5"], /--scheme/],
      [["--scheme", "logreg", "--epsilon", "-1", "--delta", "1e-5"], /--epsilon/],
      [["--scheme", "logreg", "--epsilon", "1"], /--delta/],
      [["--scheme", "logreg", "--epsilon", "1", "--delta", "2"], /--delta/],
      [["--scheme", "logreg", "--epsilon", "1", "--delta", "1e-5", "--epochs", "zero"], /--epochs/],
      [["--scheme", "logreg", "--epsilon", "1", "--delta", "1e-5", "--optimizer", "rmsprop"], /--optimizer/],
      [
        ["--scheme", "side", "--model", "MODEL", "--context", "999", "--epsilon", "1", "--delta", "1e-5"],
        /--context/,
      ],
      [["--scheme", "logreg", "--epsilon", "1", "--delta", "1e-5", "--frobnicate"], /frobnicate/],
    ];
    for (const [args, flag] of cases) {
      const full = [
        "finetune",
        "--dataset",
        "spam-assassin",
        ...args.map((a) => (a === "MODEL" ? modelDir : a)),
      ];
      const r = await runMemarc([...full, "--json"]);
      assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
      const err = (r.json as { error: { code: string; message: string } }).error;
      assert.equal(err.code, "E_USAGE");
      assert.match(err.message, flag);
    }
    const missing = await runMemarc(["finetune", "--scheme", "logreg", "--epsilon", "1", "--delta", "1e-5"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--dataset/);
  });

  it("a --model directory that is not a backbone fails with E_NO_BACKBONE (exit 1)", async () => {
    const r = await runMemarc([
      "finetune",
      "--dataset",
      "spam-assassin",
      "--scheme",
      "side",
      "--model",
      tmpdir(),
      "--epsilon",
      "1",
      "--delta",
      "1e-5",
      "--json",
    ]);
    assert.equal(r.code, 1);
    assert.equal((r.json as { error: { code: string } }).error.code, "E_NO_BACKBONE");
  });
});
