/**
 * A user's own data in `finetune --data FILE` and `simulate --data FILE`: a real three-class corpus
 * (State of the Union paragraphs, Moby Dick paragraphs, SpamAssassin spam) written as JSONL and CSV,
 * trained on by the real binary; and the errors a user meets on the way name the problem.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { getSpamAssassin, loadPretrainCorpus } from "@memarc/data/node";
import { runMemarc } from "./cli-run.js";

const dir = mkdtempSync(join(tmpdir(), "memarc-user-data-"));
const PER_CLASS = 300;

/** Passages of ≥ 300 characters cut at sentence ends (SOTU addresses have no paragraph breaks). */
function passages(docs: string[]): string[] {
  const out: string[] = [];
  for (const d of docs) {
    let cur = "";
    for (const sentence of d.replace(/\s+/g, " ").split(/(?<=[.!?]) /)) {
      cur = cur ? `${cur} ${sentence}` : sentence;
      if (cur.length >= 300) {
        if (cur.length <= 1000) out.push(cur);
        cur = "";
      }
    }
    if (out.length >= PER_CLASS) break;
  }
  return out.slice(0, PER_CLASS);
}

function corpus(): { text: string; label: string }[] {
  const speech = passages(loadPretrainCorpus({ sources: ["sotu"] }).documents);
  const novel = passages(loadPretrainCorpus({ sources: ["moby-dick"] }).documents);
  const sa = getSpamAssassin().train;
  const spam = sa.texts.filter((_, i) => sa.labels[i] === 1).slice(0, PER_CLASS);
  const rows = [
    ...speech.map((text) => ({ text, label: "speech" })),
    ...novel.map((text) => ({ text, label: "novel" })),
    ...spam.map((text) => ({ text, label: "spam" })),
  ];
  // Interleave so that no split depends on the file's order.
  return rows
    .map((r, i) => ({ r, k: (i * 7919) % rows.length }))
    .sort((a, b) => a.k - b.k)
    .map((x) => x.r);
}

const rows = corpus();
const jsonl = join(dir, "mine.jsonl");
writeFileSync(jsonl, rows.map((r) => JSON.stringify(r)).join("\n"));
const csv = join(dir, "mine.csv");
const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
writeFileSync(csv, `text,label\n${rows.map((r) => `${quote(r.text)},${r.label}`).join("\n")}\n`);

const LOGREG = ["--scheme", "logreg", "--epsilon", "3", "--delta", "1e-5"];

describe("your own data", { timeout: 300_000 }, () => {
  it("finetune --data FILE.jsonl: three classes, a stratified held-out test part, exported with its class names", async () => {
    assert.equal(rows.length, 3 * PER_CLASS);
    const out = join(dir, "model");
    const r = await runMemarc(["finetune", "--data", jsonl, ...LOGREG, "--out", out, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as {
      testAccuracy: number;
      trainExamples: number;
      testExamples: number;
      dataset: string;
    };
    assert.equal(j.dataset, jsonl);
    assert.equal(j.trainExamples + j.testExamples, rows.length);
    assert.equal(j.testExamples, 0.2 * rows.length);
    // Three well-separated sources: far above the 33 % of guessing, at ε = 3.
    assert.ok(j.testAccuracy > 0.85, `accuracy ${j.testAccuracy}`);
    const meta = JSON.parse(readFileSync(join(out, "memarc.json"), "utf8")) as { classNames: string[] };
    assert.deepEqual(meta.classNames, ["novel", "spam", "speech"]);
  });

  it("finetune --data FILE.csv --test-data FILE: the same records as CSV, tested on the JSONL file", async () => {
    const r = await runMemarc(["finetune", "--data", csv, "--test-data", jsonl, ...LOGREG, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as { testAccuracy: number; trainExamples: number; testExamples: number };
    assert.equal(j.trainExamples, rows.length);
    assert.equal(j.testExamples, rows.length);
    assert.ok(j.testAccuracy > 0.85, `accuracy ${j.testAccuracy}`);
  });

  it("simulate --data FILE: nodes partition the file's training part, the coordinator tests on the rest", async () => {
    const out = join(dir, "global");
    // Its own TMPDIR: the coordinator's temporary state (no --state) must be gone when the run ends.
    const tmp = join(dir, "tmp");
    mkdirSync(tmp);
    const r = await runMemarc(
      [
        ...["simulate", "--data", jsonl, "--scheme", "logreg", "--clients", "2", "--rounds", "3"],
        ...["--out", out, "--json"],
      ],
      { TMPDIR: tmp },
    );
    assert.deepEqual(readdirSync(tmp), [], "simulate left its temporary state behind");
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as { testAccuracy: number; rounds: number; data: string; epsilon: number };
    assert.equal(j.data, jsonl);
    assert.equal(j.rounds, 3);
    assert.ok(j.epsilon <= 8);
    assert.ok(j.testAccuracy > 0.6, `accuracy ${j.testAccuracy}`);
    const meta = JSON.parse(readFileSync(join(out, "memarc.json"), "utf8")) as { classNames: string[] };
    assert.deepEqual(meta.classNames, ["novel", "spam", "speech"]);
  });

  it("bad data is named, and no message suggests what is then refused", async () => {
    const missing = await runMemarc(["finetune", "--data", join(dir, "nope.jsonl"), ...LOGREG, "--json"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.jsonl: cannot read file/);
    const typo = await runMemarc(["finetune", "--data", "spam-asassin", ...LOGREG, "--json"]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /neither a bundled dataset .* did you mean "spam-assassin"/);
    // The bundled-dataset error mentions files; --dataset (the same flag as --data) takes one.
    const unknown = await runMemarc(["finetune", "--dataset", "enron", ...LOGREG, "--json"]);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /--dataset: "enron" is neither a bundled dataset .* nor a \.jsonl\/\.csv file/,
    );
    const file = await runMemarc(["finetune", "--dataset", jsonl, ...LOGREG, "--json"]);
    assert.equal(file.code, 0, file.stderr);
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, 'text,label\n"an unterminated quote,spam\n');
    const b = await runMemarc(["simulate", "--data", bad, "--scheme", "logreg", "--json"]);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /bad\.csv:2: unterminated quoted field/);
    assert.ok(!existsSync(join(dir, "bad")));
  });
});
