import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bertNormalize } from "./bert-pretokenize.js";
import { TokenizerError } from "./errors.js";
import { wordPieceFromFile } from "./node/index.js";
import { MINILM_VOCAB_TXT, minilmTokenizer, sotuTexts } from "./test-support.js";
import { parseVocabTxt, WordPieceTokenizer } from "./wordpiece.js";

// A hand-made vocabulary: ids are the positions.
const TOKENS = [
  "[PAD]",
  "[UNK]",
  "[CLS]",
  "[SEP]",
  "[MASK]",
  "un",
  "##aff",
  "##able",
  "a",
  "##a",
  "aa",
  "hello",
  "world",
  ",",
  "!",
  "'",
  "s",
  "##s",
  ".",
  "😀",
  "##😀",
];
const id = (t: string) => TOKENS.indexOf(t);

function small(options = {}): WordPieceTokenizer {
  return WordPieceTokenizer.fromVocab(TOKENS, options);
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TokenizerError);
    return err.code;
  }
  return undefined;
}

describe("WordPieceTokenizer", () => {
  it("finds the special token ids", () => {
    const t = small();
    assert.deepEqual([t.padId, t.unkId, t.clsId, t.sepId, t.maskId, t.vocabSize], [0, 1, 2, 3, 4, 21]);
    const m = minilmTokenizer();
    assert.deepEqual(
      [m.padId, m.unkId, m.clsId, m.sepId, m.maskId, m.vocabSize],
      [0, 100, 101, 102, 103, 30522],
    );
  });

  it("cuts words greedily, longest piece first, with ## continuations", () => {
    const t = small();
    assert.deepEqual(t.encode("unaffable"), [id("un"), id("##aff"), id("##able")]);
    // "aaa": longest first piece is "aa", then "##a"; never "a" + "##a" + "##a".
    assert.deepEqual(t.encode("aaa"), [id("aa"), id("##a")]);
    assert.deepEqual(t.encode("Hello, World!"), [id("hello"), id(","), id("world"), id("!")]);
    assert.deepEqual(t.encode("😀😀😀"), [id("😀"), id("##😀"), id("##😀")]);
  });

  it("makes a whole word [UNK] when any position has no piece", () => {
    const t = small();
    // "unaffablex": un ##aff ##able, then nothing for "x" -> the word is one [UNK], not a prefix.
    assert.deepEqual(t.encode("unaffablex hello"), [t.unkId, id("hello")]);
    assert.deepEqual(t.encode("b"), [t.unkId]);
  });

  it("makes words longer than maxInputCharsPerWord one [UNK], counting code points", () => {
    const t = small({ maxInputCharsPerWord: 4 });
    assert.deepEqual(t.encode("aaaa"), [id("aa"), id("##a"), id("##a")]);
    assert.deepEqual(t.encode("aaaaa"), [t.unkId]);
    // 4 emoji are 8 UTF-16 units but 4 code points: still tokenised.
    assert.equal(t.encode("😀😀😀😀").length, 4);
    assert.deepEqual(t.encode("😀😀😀😀😀"), [t.unkId]);
    const m = minilmTokenizer();
    assert.deepEqual(m.encode("a".repeat(101)), [m.unkId]);
    assert.notDeepEqual(m.encode("a".repeat(100)), [m.unkId]);
  });

  it("truncation keeps [CLS] and [SEP]", () => {
    const t = small();
    const text = "hello world hello world";
    assert.deepEqual(t.encodeWithSpecial(text), [2, 11, 12, 11, 12, 3]);
    assert.deepEqual(t.encodeWithSpecial(text, { maxLength: 4 }), [2, 11, 12, 3]);
    assert.deepEqual(t.encodeWithSpecial(text, { maxLength: 2 }), [2, 3]);
    assert.deepEqual(t.encodeWithSpecial(text, { maxLength: 100 }), [2, 11, 12, 11, 12, 3]);
    assert.deepEqual(t.encodeWithSpecial(""), [2, 3]);
    assert.equal(
      code(() => t.encodeWithSpecial(text, { maxLength: 1 })),
      "E_TOKENIZER_BAD_OPTIONS",
    );
  });

  it("matches literal special tokens in the raw text unless told not to", () => {
    const t = minilmTokenizer();
    assert.deepEqual(t.encode("a[SEP]b"), [1037, 102, 1038]);
    assert.deepEqual(t.encode("[sep]"), [1031, 19802, 1033]); // case-sensitive, like the reference
    assert.deepEqual(t.encode("a[SEP]b", { allowedSpecial: "none" }), [1037, 1031, 19802, 1033, 1038]);
    assert.deepEqual(t.encode("[CLS][SEP]", { allowedSpecial: ["[SEP]"] }), [1031, 18856, 2015, 1033, 102]);
    assert.equal(
      code(() => t.encode("x", { allowedSpecial: ["<s>"] })),
      "E_TOKENIZER_BAD_OPTIONS",
    );
  });

  it("encodeBatch pads with [PAD] and returns lengths and the attention mask", () => {
    const t = small();
    const b = t.encodeBatch(["hello world", "", "hello world hello world"], { maxLength: 5 });
    assert.equal(b.batchSize, 3);
    assert.equal(b.seqLength, 5);
    assert.deepEqual([...b.ids], [2, 11, 12, 3, 0, 2, 3, 0, 0, 0, 2, 11, 12, 11, 3]);
    assert.deepEqual([...b.lengths], [4, 2, 5]);
    assert.deepEqual([...b.attentionMask], [1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1]);
    const longest = t.encodeBatch(["hello", "hello world"], { maxLength: 16, padding: "longest" });
    assert.equal(longest.seqLength, 4);
    assert.deepEqual([...longest.ids], [2, 11, 3, 0, 2, 11, 12, 3]);
    assert.deepEqual([...longest.attentionMask], [1, 1, 1, 0, 1, 1, 1, 1]);
    assert.equal(
      code(() => t.encodeBatch(["x"], { maxLength: 1 })),
      "E_TOKENIZER_BAD_OPTIONS",
    );
  });

  it("decodes: ## pieces glued, specials skipped by default, tokenizers' cleanup", () => {
    const t = small();
    const ids = t.encodeWithSpecial("unaffable, hello world! hello's world.");
    // Cleanup works piece by piece, so " ' s" stays apart (as in the reference); " ," and " ." join.
    assert.equal(t.decode(ids), "unaffable, hello world! hello ' s world.");
    assert.equal(
      t.decode(ids, { skipSpecialTokens: false }),
      "[CLS] unaffable, hello world! hello ' s world. [SEP]",
    );
    // A leading continuation piece keeps its "##" (as the reference does for the first token).
    assert.equal(t.decode([id("##able"), id("##able")]), "##ableable");
    assert.equal(
      code(() => t.decode([21])),
      "E_TOKENIZER_UNKNOWN_ID",
    );
    assert.equal(
      code(() => t.decode([-1])),
      "E_TOKENIZER_UNKNOWN_ID",
    );
  });

  it("rejects a vocabulary without the special tokens or with duplicates", () => {
    assert.equal(
      code(() => WordPieceTokenizer.fromVocab(["[PAD]", "[CLS]", "[SEP]", "a"])),
      "E_TOKENIZER_BAD_VOCAB",
    );
    assert.equal(
      code(() => WordPieceTokenizer.fromVocab([...TOKENS, "a"])),
      "E_TOKENIZER_BAD_VOCAB",
    );
    assert.equal(
      code(() => WordPieceTokenizer.fromVocab([...TOKENS, ""])),
      "E_TOKENIZER_BAD_VOCAB",
    );
    assert.equal(
      code(() => wordPieceFromFile("/nonexistent/vocab.txt")),
      "E_TOKENIZER_IO",
    );
    assert.equal(
      code(() => small({ maxInputCharsPerWord: 0 })),
      "E_TOKENIZER_BAD_OPTIONS",
    );
    // Custom special token names.
    const custom = WordPieceTokenizer.fromVocab(["<pad>", "<unk>", "<s>", "</s>", "x"], {
      padToken: "<pad>",
      unkToken: "<unk>",
      clsToken: "<s>",
      sepToken: "</s>",
    });
    assert.deepEqual(custom.encodeWithSpecial("x y<s>"), [2, 4, 1, 2, 3]);
    assert.equal(custom.maskId, undefined);
  });

  it("parses vocab.txt with LF or CRLF line ends and an optional final newline", () => {
    assert.deepEqual(parseVocabTxt("a\nb\n"), ["a", "b"]);
    assert.deepEqual(parseVocabTxt("a\r\nb"), ["a", "b"]);
    assert.deepEqual(parseVocabTxt("a\n\nb\n"), ["a", "", "b"]);
  });

  it("gives the same ids with and without the word cache", () => {
    const text = sotuTexts().slice(-10).join("\n").slice(0, 300_000);
    const cached = wordPieceFromFile(MINILM_VOCAB_TXT, { cacheSize: 50 });
    const uncached = wordPieceFromFile(MINILM_VOCAB_TXT, { cacheSize: 0 });
    const a = cached.encode(text);
    assert.deepEqual(a, uncached.encode(text));
    assert.deepEqual(cached.encode(text), a); // warm cache
    assert.ok(a.length > 50_000);
  });

  it("drops unpaired surrogates like U+FFFD (the reference's strings cannot hold them)", () => {
    const m = minilmTokenizer();
    assert.deepEqual(m.encode("ab\ud800cd \udc00x"), m.encode("ab\ufffdcd \ufffdx"));
    assert.deepEqual(m.encode("ab\ud800cd"), m.encode("abcd"));
    assert.equal(bertNormalize("\ud83d\ude00\ud83d"), "\u{1F600}");
  });

  it("maps ids and tokens both ways", () => {
    const m = minilmTokenizer();
    assert.equal(m.idToToken(101), "[CLS]");
    assert.equal(m.tokenToId("##ing"), 2075);
    assert.equal(m.idToToken(30522), undefined);
  });
});
