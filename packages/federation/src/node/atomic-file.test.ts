import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { writeFileAtomic } from "./atomic-file.js";

describe("writeFileAtomic", () => {
  it("replaces a file's content completely and leaves no temporary files", () => {
    const dir = mkdtempSync(join(tmpdir(), "memarc-atomic-"));
    const p = join(dir, "state.json");
    writeFileSync(p, "old");
    writeFileAtomic(p, JSON.stringify({ round: 3 }));
    assert.deepEqual(JSON.parse(readFileSync(p, "utf8")), { round: 3 });
    assert.deepEqual(readdirSync(dir), ["state.json"]);
    assert.equal(statSync(p).mode & 0o777, 0o600);
  });

  it("creates missing directories and writes binary data", () => {
    const dir = mkdtempSync(join(tmpdir(), "memarc-atomic-"));
    const p = join(dir, "a", "b", "w.bin");
    writeFileAtomic(p, Uint8Array.from([1, 2, 3]));
    assert.deepEqual([...readFileSync(p)], [1, 2, 3]);
  });

  it("keeps the old file when the target cannot be replaced", () => {
    const dir = mkdtempSync(join(tmpdir(), "memarc-atomic-"));
    const p = join(dir, "x");
    writeFileAtomic(p, "v1");
    // Renaming a file over a non-empty directory fails: the write must fail without side effects.
    const blocked = join(dir, "blocked");
    writeFileAtomic(join(blocked, "inner"), "keep");
    assert.throws(() => writeFileAtomic(blocked, "v2"));
    assert.equal(readFileSync(join(blocked, "inner"), "utf8"), "keep");
    assert.equal(readFileSync(p, "utf8"), "v1");
    assert.deepEqual(readdirSync(dir).sort(), ["blocked", "x"]);
  });
});
