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
