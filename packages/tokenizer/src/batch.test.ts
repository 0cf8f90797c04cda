import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenizerError } from "./errors.js";
import { gpt2Tokenizer } from "./test-support.js";

describe("encodeBatch", () => {
  const tok = gpt2Tokenizer();
  const texts = [
    "Hello world",
    "",
    "A somewhat longer sentence that will need truncating, surely.",
    "<|endoftext|>",
  ];
  const enc = texts.map((t) => tok.encode(t));

  it("pads to maxLength with padId and reports real lengths", () => {
    const T = 6;
    const { ids, lengths, batchSize, seqLength } = tok.encodeBatch(texts, {
      maxLength: T,
      padId: tok.eotId,
      truncation: "end",
    });
    assert.equal(batchSize, 4);
    assert.equal(seqLength, T);
    assert.ok(ids instanceof Int32Array && lengths instanceof Int32Array);
    assert.equal(ids.length, 4 * T);
    assert.deepEqual(
      [...lengths],
      enc.map((e) => Math.min(e.length, T)),
    );
    for (let b = 0; b < 4; b++) {
      const row = [...ids.subarray(b * T, (b + 1) * T)];
      const expected = enc[b]!.slice(0, T);
      assert.deepEqual(row, [...expected, ...Array(T - expected.length).fill(tok.eotId)]);
    }
  });

  it("truncation 'end' keeps the first tokens, 'start' the last", () => {
    const long = enc[2]!;
    assert.ok(long.length > 5);
    const end = tok.encodeBatch([texts[2]!], { maxLength: 5, padId: 0, truncation: "end" });
    const start = tok.encodeBatch([texts[2]!], { maxLength: 5, padId: 0, truncation: "start" });
    assert.deepEqual([...end.ids], long.slice(0, 5));
    assert.deepEqual([...start.ids], long.slice(-5));
    assert.equal(end.lengths[0], 5);
  });

  it("padding 'longest' shrinks T to the longest row", () => {
    const { ids, seqLength, lengths } = tok.encodeBatch(["a b c", "a"], {
      maxLength: 100,
      padId: 7,
      padding: "longest",
    });
    assert.equal(seqLength, 3);
    assert.deepEqual([...lengths], [3, 1]);
    assert.deepEqual([...ids], [...tok.encode("a b c"), ...tok.encode("a"), 7, 7]);
    const empty = tok.encodeBatch([""], { maxLength: 8, padId: 7, padding: "longest" });
    assert.equal(empty.seqLength, 1);
    assert.deepEqual([...empty.ids], [7]);
    assert.equal(empty.lengths[0], 0);
  });

  it("passes allowedSpecial through to encode", () => {
    const { ids, lengths } = tok.encodeBatch(["<|endoftext|>"], {
      maxLength: 4,
      padId: 0,
      allowedSpecial: "all",
    });
    assert.equal(lengths[0], 1);
    assert.equal(ids[0], tok.eotId);
  });

  it("rejects bad options with E_TOKENIZER_BAD_OPTIONS", () => {
    const bad = [
      { maxLength: 0, padId: 0 },
      { maxLength: 2.5, padId: 0 },
      { maxLength: 4, padId: -1 },
      { maxLength: 4, padId: 0, truncation: "middle" as "end" },
      { maxLength: 4, padId: 0, padding: "none" as "longest" },
    ];
    for (const options of bad) {
      assert.throws(
        () => tok.encodeBatch(["x"], options),
        (e: unknown) => e instanceof TokenizerError && e.code === "E_TOKENIZER_BAD_OPTIONS",
      );
    }
  });
});
