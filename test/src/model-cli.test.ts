/**
 * Fine-tune → export → predict / eval with the real binary: the exported model evaluates to exactly
 * the accuracy finetune reported, predicts files and texts, and bad input is named.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { runMemarc } from "./cli-run.js";
import { RUN_MARGIN, readmeAccuracy, readmeCommand } from "./readme.js";
import { saveTinyGpt2 } from "./tiny-gpt2.js";

const dir = mkdtempSync(join(tmpdir(), "memarc-model-cli-"));
const model = join(dir, "spam-logreg");
let finetuneAccuracy = 0;

describe("finetune --out, predict, eval", { timeout: 300_000 }, () => {
  before(async () => {
    // The README's quick start, as written (only the output directory and --json added).
    const args = readmeCommand("finetune", ["--scheme logreg", "--out"]);
    args[args.indexOf("--out") + 1] = model;
    const r = await runMemarc([...args, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as { testAccuracy: number; modelOut: string };
    assert.equal(j.modelOut, model);
    finetuneAccuracy = j.testAccuracy;
  });

  it("the README's quick start reaches the accuracy the README states for it", () => {
    const stated = readmeAccuracy("The commands above, as written:");
    assert.ok(
      finetuneAccuracy >= stated.low - RUN_MARGIN && finetuneAccuracy <= stated.high + RUN_MARGIN,
      `README: ${stated.mean} (${stated.low}–${stated.high}); this run: ${finetuneAccuracy}`,
    );
  });

  it("eval on the test split reproduces finetune's accuracy exactly, with the full report", async () => {
    const r = await runMemarc(["eval", "--model", model, "--data", "spam-assassin", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as {
      accuracy: number;
      examples: number;
      confusion: number[][];
      rocAuc: number;
      macroF1: number;
      perClass: Record<string, { support: number }>;
      privacy: { epsilon: number; delta: number; unit: string; accountant: string };
    };
    assert.equal(j.accuracy, finetuneAccuracy);
    assert.equal(
      j.confusion.flat().reduce((a, b) => a + b, 0),
      j.examples,
    );
    assert.equal(j.perClass.ham!.support + j.perClass.spam!.support, j.examples);
    assert.ok(j.rocAuc > 0.5 && j.rocAuc <= 1 && j.macroF1 > 0);
    assert.ok(j.privacy.epsilon > 0 && j.privacy.epsilon <= 3);
    assert.equal(j.privacy.unit, "example");
  });

  it("predict: texts and an unlabelled file, in input order, with probabilities that sum to 1", async () => {
    const file = join(dir, "inbox.jsonl");
    writeFileSync(
      file,
      `${JSON.stringify({ text: "Dear friend, claim your FREE prize money now!!! click here" })}\n${JSON.stringify({ text: "Re: the build is broken again, can you look at the failing test?" })}\n`,
    );
    const r = await runMemarc([
      ...["predict", "--model", model, "--text", "Lunch at noon tomorrow?", "--data", file, "--json"],
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as {
      classNames: string[];
      predictions: { label: string; probabilities: Record<string, number> }[];
    };
    assert.deepEqual(j.classNames, ["ham", "spam"]);
    assert.equal(j.predictions.length, 3);
    for (const p of j.predictions) {
      const sum = Object.values(p.probabilities).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5);
      assert.ok(j.classNames.includes(p.label));
    }
  });

  it("eval with labels the model does not know, and predict on a directory that is not a model", async () => {
    const file = join(dir, "bad.jsonl");
    writeFileSync(file, `${JSON.stringify({ text: "hello", label: "phishing" })}\n`);
    const e = await runMemarc(["eval", "--model", model, "--data", file, "--json"]);
    assert.notEqual(e.code, 0);
    assert.match(e.stderr, /unknown label "phishing"/);
    const p = await runMemarc(["predict", "--model", dir, "--text", "x", "--json"]);
    assert.notEqual(p.code, 0);
    assert.equal((p.json as { error: { code: string } }).error.code, "E_MODEL_DIR");
  });
});

describe("a lora model's forwards on worker threads (predict / eval --threads)", { timeout: 300_000 }, () => {
  it("give the probabilities one thread gives, and eval says how many threads it used", async () => {
    const tiny = await saveTinyGpt2(join(dir, "tiny-gpt2"));
    const out = join(dir, "tiny-lora");
    const ft = await runMemarc([
      ...[
        "finetune",
        "--data",
        "spam-assassin",
        "--scheme",
        "lora",
        "--model",
        tiny,
        "--context",
        "16",
        "--limit",
        "240",
      ],
      ...["--epsilon", "8", "--delta", "1e-5", "--epochs", "1", "--batch-size", "48", "--threads", "2"],
      ...["--out", out, "--json"],
    ]);
    assert.equal(ft.code, 0, ft.stderr);
    // The test split's forwards ran on the two workers, with progress (rate, and ETA while running).
    assert.match(ft.stderr, /evaluating 60\/60 \([\d.]+\/s/);
    const evalWith = async (threads: number) => {
      const r = await runMemarc([
        "eval",
        "--model",
        out,
        "--data",
        "spam-assassin",
        "--threads",
        `${threads}`,
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      return r.json as { threads: number; examples: number; accuracy: number; confusion: number[][] };
    };
    const [one, two] = [await evalWith(1), await evalWith(2)];
    assert.equal(one.threads, 1);
    assert.equal(two.threads, 2);
    assert.equal(two.examples, 1175);
    assert.equal(two.accuracy, one.accuracy);
    assert.deepEqual(two.confusion, one.confusion);

    const file = join(dir, "many.jsonl");
    const texts = Array.from(
      { length: 70 },
      (_, i) => `message ${i}: ${i % 3 ? "agenda notes attached" : "free money offer now"}`,
    );
    writeFileSync(file, texts.map((text) => `${JSON.stringify({ text })}\n`).join(""));
    const predictWith = async (threads: number) => {
      const r = await runMemarc([
        "predict",
        "--model",
        out,
        "--data",
        file,
        "--threads",
        `${threads}`,
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      return (r.json as { predictions: { probabilities: Record<string, number> }[] }).predictions;
    };
    const [p1, p2] = [await predictWith(1), await predictWith(2)];
    assert.equal(p2.length, 70);
    let worst = 0;
    for (let i = 0; i < p1.length; i++)
      for (const [k, v] of Object.entries(p1[i]!.probabilities))
        worst = Math.max(worst, Math.abs(v - p2[i]!.probabilities[k]!));
    assert.ok(worst < 1e-5, `probabilities differ by ${worst}`);
  });
});
