import assert from "node:assert/strict";
import { test } from "node:test";
import { DataError } from "./errors.js";
import { loadPretrainCorpus } from "./pretrain.js";

test("pretrain corpus: SOTU + Moby Dick documents with a deterministic 1-in-20 held-out set", () => {
  const c = loadPretrainCorpus();
  assert.equal(c.name, "sotu+moby-dick");
  assert.equal(c.documents.length, 233 + 138); // Moby Dick without its table of contents
  assert.equal(c.heldOut.length, Math.floor(c.documents.length / 20));
  assert.equal(c.train.length + c.heldOut.length, c.documents.length);
  assert.equal(c.heldOut[0], c.documents[19]);
  const train = new Set(c.train);
  assert.ok(c.heldOut.every((d) => !train.has(d)));
  assert.match(c.documents[0]!, /^Fellow-Citizens of the Senate and House of Representatives/);
  assert.ok(c.documents.some((d) => d.startsWith("Chapter 1. Loomings.\n\nCall me Ishmael.")));
  assert.ok(c.documents.every((d) => d.trim().length > 200 && !/\r|\n{3}|[ \t]{2}/.test(d)));
  // Held-out set contains both sources.
  assert.ok(c.heldOut.some((d) => d.startsWith("Chapter")));
  assert.deepEqual(loadPretrainCorpus(), c);
  const moby = loadPretrainCorpus({ sources: ["moby-dick"], heldOutEvery: 10 });
  assert.equal(moby.documents.length, 138);
  assert.equal(moby.heldOut.length, 13);
  assert.throws(() => loadPretrainCorpus({ heldOutEvery: 1 }), DataError);
  assert.throws(() => loadPretrainCorpus({ sources: ["bible" as never] }), DataError);
});
