import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BpeTokenizer, ENDOFTEXT } from "./bpe-tokenizer.js";
import { BYTE_TO_CHAR, GPT2_BYTE_ORDER } from "./byte-unicode.js";
import { TokenizerError } from "./errors.js";
import { bpeFromFiles, saveBpe } from "./node/index.js";
import { GPT2_MERGES_TXT, GPT2_VOCAB_JSON, gpt2Tokenizer } from "./test-support.js";

const tmp = mkdtempSync(join(tmpdir(), "memarc-tokenizer-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** 256 byte tokens in GPT-2 order, then `extra`, then <|endoftext|>. */
function toyVocab(extra: string[]): Record<string, number> {
  const tokens = [...GPT2_BYTE_ORDER.map((b) => BYTE_TO_CHAR[b]!), ...extra, ENDOFTEXT];
  return Object.fromEntries(tokens.map((t, i) => [t, i]));
}

function byteIds(tok: BpeTokenizer, bytes: number[]): number[] {
  return bytes.map((b) => tok.tokenToId(BYTE_TO_CHAR[b]!)!);
}

function assertCode(fn: () => unknown, code: string, messagePart?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TokenizerError, `expected TokenizerError, got ${err}`);
    assert.equal(err.code, code);
    if (messagePart) assert.match(err.message, messagePart);
    return true;
  });
}

describe("BpeTokenizer on a hand-built model", () => {
  // Ranks: 0 "a b", 1 "ab c", 2 "Ġ ab", 3 "b c".
  const tok = BpeTokenizer.fromJSON(toyVocab(["ab", "abc", "Ġab", "bc"]), [
    "a b",
    "ab c",
    ["Ġ", "ab"],
    "b c",
  ]);
  const id = (t: string): number => tok.tokenToId(t)!;

  it("merges by rank, not by position", () => {
    // "abc": (a,b) rank 0 beats (b,c) rank 3, then (ab,c) rank 1 -> one token.
    assert.deepEqual(tok.encode("abc"), [id("abc")]);
    // "bc" alone: only (b,c) applies.
    assert.deepEqual(tok.encode("bc"), [id("bc")]);
    // " abc": (a,b) first, then (Ġ,ab) rank 2 vs (ab,c) rank 1 -> ab c wins, leaving Ġ + abc.
    assert.deepEqual(tok.encode(" abc"), [id("Ġ"), id("abc")]);
    assert.deepEqual(tok.encode(" ab"), [id("Ġab")]);
    // Merges never cross pre-token boundaries: "a" and "b" separated by a space stay apart.
    assert.deepEqual(tok.encode("a b"), [id("a"), id("Ġ"), id("b")]);
  });

  it("merges all occurrences left to right without overlap", () => {
    const t2 = BpeTokenizer.fromJSON(toyVocab(["aa"]), ["a a"]);
    assert.deepEqual(t2.encode("aaa"), [t2.tokenToId("aa"), t2.tokenToId("a")]);
    assert.deepEqual(t2.encode("aaaa"), [t2.tokenToId("aa"), t2.tokenToId("aa")]);
  });

  it("exposes vocabSize, eotId, merges and token lookups", () => {
    assert.equal(tok.vocabSize, 256 + 4 + 1);
    assert.equal(tok.eotId, 260);
    assert.deepEqual(tok.merges, [
      ["a", "b"],
      ["ab", "c"],
      ["Ġ", "ab"],
      ["b", "c"],
    ]);
    assert.equal(tok.idToToken(id("Ġab")), "Ġab");
    assert.equal(tok.idToToken(99999), undefined);
  });

  it("round-trips bytes that no merge covers", () => {
    for (const s of ["\u0000\u00ff", "zzz 😀 é", "\n\t\r"]) assert.equal(tok.decode(tok.encode(s)), s);
  });
});

describe("decode", () => {
  const tok = gpt2Tokenizer();

  it("replaces invalid UTF-8 exactly like Python's bytes.decode('utf-8', 'replace')", () => {
    // Expected strings printed by CPython 3 for these byte strings.
    const F = "\ufffd";
    const cases: Array<[number[], string]> = [
      [[0xf0, 0x9f], F],
      [[0xf0, 0x9f, 0x98], F],
      [[0x80, 0x61, 0x62, 0x63], F + "abc"],
      [[0xc0, 0xaf], F + F],
      [[0xe0, 0x80, 0xaf], F + F + F],
      [[0xf4, 0x90, 0x80, 0x80], F + F + F + F],
      [[0xed, 0xa0, 0x80], F + F + F],
      [[0x61, 0xff, 0x62, 0xfe], "a" + F + "b" + F],
      [[0xe2, 0x82, 0xac, 0xe2, 0x82], "€" + F],
      [[0xf0, 0x80, 0x80, 0x61, 0xed, 0xa0, 0x80, 0xff, 0xc3], F + F + F + "a" + F + F + F + F + F],
    ];
    for (const [bytes, expected] of cases)
      assert.equal(tok.decode(byteIds(tok, bytes)), expected, `${bytes}`);
  });

  it("decodes a prefix that cuts a character in half with one replacement character", () => {
    const ids = tok.encode("😀");
    assert.ok(ids.length > 1, "GPT-2 splits this emoji across tokens");
    assert.equal(tok.decode(ids.slice(0, 1)), "\ufffd");
    assert.deepEqual([...tok.decodeBytes(ids)], [0xf0, 0x9f, 0x98, 0x80]);
  });

  it("keeps a leading byte-order mark (Python does not strip it)", () => {
    assert.equal(tok.decode(tok.encode("\ufeffx")), "\ufeffx");
  });

  it("accepts typed arrays and rejects unknown ids with a code", () => {
    assert.equal(tok.decode(Int32Array.from(tok.encode("typed"))), "typed");
    assertCode(() => tok.decode([50257]), "E_TOKENIZER_UNKNOWN_ID", /50257.*0\.\.50256/);
    assertCode(() => tok.decode([-1]), "E_TOKENIZER_UNKNOWN_ID");
    assertCode(() => tok.decode([1.5]), "E_TOKENIZER_UNKNOWN_ID");
  });
});

describe("special tokens", () => {
  const tok = gpt2Tokenizer();

  it("treats <|endoftext|> as ordinary text by default", () => {
    const ids = tok.encode("a<|endoftext|>b");
    assert.ok(!ids.includes(tok.eotId));
    assert.ok(ids.length > 3);
    assert.equal(tok.decode(ids), "a<|endoftext|>b");
  });

  it("emits eotId when allowed, and decodes it back to its text", () => {
    const ids = tok.encode("a<|endoftext|>b", { allowedSpecial: "all" });
    assert.deepEqual(ids, [...tok.encode("a"), tok.eotId, ...tok.encode("b")]);
    assert.equal(tok.decode(ids), "a<|endoftext|>b");
    assert.deepEqual(tok.encode("<|endoftext|>", { allowedSpecial: [ENDOFTEXT] }), [50256]);
    assert.deepEqual(tok.encode("x", { allowedSpecial: [] }), tok.encode("x"));
  });

  it("rejects unknown names in allowedSpecial", () => {
    assertCode(
      () => tok.encode("x", { allowedSpecial: ["<|im_start|>"] }),
      "E_TOKENIZER_BAD_OPTIONS",
      /im_start/,
    );
  });
});

describe("files", () => {
  it("save() reproduces GPT-2's vocab.json and merges.txt byte for byte", () => {
    const dir = join(tmp, "gpt2-copy");
    const { vocabPath, mergesPath } = saveBpe(gpt2Tokenizer(), dir);
    assert.ok(readFileSync(mergesPath, "utf8").startsWith("#version: 0.2\nĠ t\n"));
    assert.ok(readFileSync(vocabPath).equals(readFileSync(GPT2_VOCAB_JSON)), "vocab.json differs");
    assert.ok(readFileSync(mergesPath).equals(readFileSync(GPT2_MERGES_TXT)), "merges.txt differs");
  });

  it("save() then fromFiles() gives the same tokenizer, including awkward token strings", () => {
    const vocab = toyVocab(['"\\', "Ċ\t"]);
    // '"' and '\\' are printable bytes; "\t" is not a byte character, so build from valid ones only.
    delete vocab["Ċ\t"];
    vocab[ENDOFTEXT] = 257;
    const tok = BpeTokenizer.fromJSON(vocab, [['"', "\\"]]);
    const { vocabPath, mergesPath } = saveBpe(tok, join(tmp, "toy"));
    const back = bpeFromFiles(vocabPath, mergesPath);
    assert.deepEqual(back.toJSON(), tok.toJSON());
    assert.deepEqual(back.encode('"\\'), [256]);
  });

  it("fromJSON(toJSON()) is the identity on GPT-2", () => {
    const tok = gpt2Tokenizer();
    const { vocab, merges } = tok.toJSON();
    const copy = BpeTokenizer.fromJSON(vocab, merges);
    const s = "Round trip through JSON, with ünïcödé and 123.";
    assert.deepEqual(copy.encode(s), tok.encode(s));
  });

  it("reports unreadable and malformed files with codes", () => {
    assertCode(() => bpeFromFiles(join(tmp, "nope.json"), GPT2_MERGES_TXT), "E_TOKENIZER_IO", /nope\.json/);
    const bad = join(tmp, "bad.json");
    writeFileSync(bad, "{not json");
    assertCode(() => bpeFromFiles(bad, GPT2_MERGES_TXT), "E_TOKENIZER_BAD_VOCAB", /bad\.json/);
    const badMerges = join(tmp, "bad-merges.txt");
    writeFileSync(badMerges, "#version: 0.2\nĠ t\nthree parts here\n");
    assertCode(() => bpeFromFiles(GPT2_VOCAB_JSON, badMerges), "E_TOKENIZER_BAD_MERGES", /:3:/);
  });
});

describe("validation", () => {
  it("requires all 256 byte symbols", () => {
    const tokens = Object.keys(toyVocab([])).filter((t) => t !== "Ġ");
    const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
    assertCode(() => BpeTokenizer.fromJSON(vocab, []), "E_TOKENIZER_BAD_VOCAB", /0x20/);
  });

  it("requires dense, unique ids", () => {
    const gap = toyVocab([]);
    gap[ENDOFTEXT] = 300;
    assertCode(() => BpeTokenizer.fromJSON(gap, []), "E_TOKENIZER_BAD_VOCAB", /dense/);
    const dup = toyVocab(["ab"]);
    dup[ENDOFTEXT] = 256;
    assertCode(() => BpeTokenizer.fromJSON(dup, []), "E_TOKENIZER_BAD_VOCAB");
  });

  it("requires tokens spelled in the byte alphabet and an <|endoftext|> token", () => {
    assertCode(() => BpeTokenizer.fromJSON(toyVocab([" x"]), []), "E_TOKENIZER_BAD_VOCAB", /" x"/);
    const noEot = toyVocab([]);
    delete noEot[ENDOFTEXT];
    assertCode(() => BpeTokenizer.fromJSON(noEot, []), "E_TOKENIZER_BAD_VOCAB", /endoftext/);
  });

  it("requires merges whose parts and result are in the vocab, without repeats", () => {
    assertCode(() => BpeTokenizer.fromJSON(toyVocab([]), ["a b"]), "E_TOKENIZER_BAD_MERGES", /"ab"/);
    assertCode(
      () => BpeTokenizer.fromJSON(toyVocab(["ab"]), ["a b", "a b"]),
      "E_TOKENIZER_BAD_MERGES",
      /repeats/,
    );
    assertCode(() => BpeTokenizer.fromJSON(toyVocab(["ab"]), ["a b c"]), "E_TOKENIZER_BAD_MERGES");
  });
});

describe("word cache", () => {
  it("gives identical results with the cache disabled, tiny, or default", () => {
    const text = "the cat and the hat and the bat; the end. ".repeat(20) + "unique words appear once";
    const reference = gpt2Tokenizer().encode(text);
    for (const cacheSize of [0, 1, 3]) {
      const tok = bpeFromFiles(GPT2_VOCAB_JSON, GPT2_MERGES_TXT, { cacheSize });
      assert.deepEqual(tok.encode(text), reference);
      assert.deepEqual(tok.encode(text), reference, "second pass served from the cache");
    }
  });
});
