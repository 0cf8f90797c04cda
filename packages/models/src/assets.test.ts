import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BACKBONE_FILES, bundledBackboneDir, bundledBackbonePath, missingBackboneFiles } from "./assets.js";
import { ModelError } from "./core/errors.js";

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
