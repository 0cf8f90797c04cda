import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BACKBONE_FILES } from "../backbone-files.js";
import { ModelError } from "../core/errors.js";
import {
  bundledBackboneDir,
  bundledBackbonePath,
  bundledEncoderDir,
  bundledEncoderPath,
  missingBackboneFiles,
} from "./assets.js";

test("bundled backbone path is packages/models/assets/backbone, independent of the working directory", () => {
  const p = bundledBackbonePath();
  assert.match(p.replaceAll("\\", "/"), /\/packages\/models\/assets\/backbone$/);
  const cwd = process.cwd();
  process.chdir(tmpdir());
  try {
    assert.equal(bundledBackbonePath(), p);
  } finally {
    process.chdir(cwd);
  }
});

test("missingBackboneFiles lists exactly the absent files", () => {
  const dir = mkdtempSync(join(tmpdir(), "memarc-assets-"));
  try {
    assert.deepEqual(missingBackboneFiles(dir), [...BACKBONE_FILES]);
    writeFileSync(join(dir, "config.json"), "{}");
    writeFileSync(join(dir, "vocab.json"), "{}");
    assert.deepEqual(missingBackboneFiles(dir), ["model.safetensors", "merges.txt"]);
    assert.deepEqual(missingBackboneFiles(join(dir, "nope")), [...BACKBONE_FILES]);
    mkdirSync(join(dir, "nope"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bundledBackboneDir returns the directory when complete, else throws E_NO_BACKBONE naming the fix", () => {
  const missing = missingBackboneFiles(bundledBackbonePath());
  if (missing.length === 0) {
    assert.equal(bundledBackboneDir(), bundledBackbonePath());
  } else {
    assert.throws(
      () => bundledBackboneDir(),
      (e: unknown) =>
        e instanceof ModelError &&
        e.code === "E_NO_BACKBONE" &&
        e.message.includes("memarc pretrain") &&
        e.message.includes(missing[0]!),
    );
  }
});

test("bundled encoder: packages/models/assets/all-minilm-l6-v2, complete with its WordPiece vocab.txt", () => {
  const p = bundledEncoderPath();
  assert.match(p.replaceAll("\\", "/"), /\/packages\/models\/assets\/all-minilm-l6-v2$/);
  assert.equal(bundledEncoderDir(), p); // vendored in the repository: must be complete
  assert.deepEqual(missingBackboneFiles(p, "bert"), []);
  // A BERT directory is not a GPT-2 one (no vocab.json / merges.txt), and the reverse.
  assert.deepEqual(missingBackboneFiles(p, "gpt2"), ["vocab.json", "merges.txt"]);
  const dir = mkdtempSync(join(tmpdir(), "memarc-assets-"));
  try {
    writeFileSync(join(dir, "config.json"), "{}");
    writeFileSync(join(dir, "vocab.json"), "{}");
    assert.deepEqual(missingBackboneFiles(dir, "bert"), ["model.safetensors", "vocab.txt"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
