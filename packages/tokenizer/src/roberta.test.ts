// RobertaTokenizer against Hugging Face `tokenizers` (Rust) built as roberta-base's tokenizer.json
// is (byte-level BPE from vocab.json + merges.txt, no prefix space, RobertaProcessing), on the
// tiny RoBERTa's trained vocabulary: the golden ids of scripts/make-roberta-reference.py.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseMergesTxt, parseVocabJson } from "./gpt2-format.js";
import { RobertaTokenizer } from "./roberta.js";
import { ROBERTA_GOLDEN_JSON, TINY_ROBERTA_DIR } from "./test-support.js";

interface Golden {
  tokenizers: string;
  maxLength: number;
  cases: { kind?: string; text: string; ids: number[]; ids64?: number[]; decoded: string }[];
}

const golden = JSON.parse(readFileSync(ROBERTA_GOLDEN_JSON, "utf8")) as Golden;
const vocab = parseVocabJson(readFileSync(join(TINY_ROBERTA_DIR, "vocab.json"), "utf8"));
const merges = parseMergesTxt(readFileSync(join(TINY_ROBERTA_DIR, "merges.txt"), "utf8"));
const tok = RobertaTokenizer.fromJSON(vocab, merges, "tiny-roberta/vocab.json");

const show = (text: string) => {
  const s = JSON.stringify(text);
  return s.length > 160 ? `${s.slice(0, 160)}…` : s;
};

describe(`RoBERTa's tokenizer equals tokenizers ${golden.tokenizers}`, () => {
  it("takes <s>, </s> and <pad> from the vocabulary", () => {
    assert.deepEqual([tok.bosId, tok.padId, tok.eosId, tok.vocabSize], [0, 1, 2, 1000]);
  });

  it(`encodes ${golden.cases.length} strings (e-mail snippets and edge cases) as <s> … </s>`, () => {
    assert.ok(golden.cases.length >= 250);
    for (const c of golden.cases)
      assert.deepEqual(tok.encodeWithSpecial(c.text), c.ids, `${c.kind ?? "crafted"} ${show(c.text)}`);
  });

  it(`truncates to maxLength ${golden.maxLength} keeping </s>, as the reference does`, () => {
    let truncated = 0;
    for (const c of golden.cases) {
      if (c.ids64) truncated++;
      const got = tok.encodeWithSpecial(c.text, { maxLength: golden.maxLength });
      assert.deepEqual(got, c.ids64 ?? c.ids, show(c.text));
    }
    assert.ok(truncated > 100, `only ${truncated} cases exceed ${golden.maxLength} tokens`);
  });

  it("decodes every case as the reference does, back to its text (byte-level BPE is lossless)", () => {
    for (const c of golden.cases) {
      assert.equal(tok.decode(c.ids), c.decoded, show(c.text));
      assert.equal(c.decoded, c.text);
    }
  });

  it("never lets a text forge <s>, </s> or <pad>", () => {
    const ids = tok.encode("<s>hello</s> <pad> <mask>");
    for (const special of [tok.bosId, tok.eosId, tok.padId, 4]) assert.ok(!ids.includes(special));
  });

  it("pads a batch with <pad> and masks exactly the padding", () => {
    const texts = ["Hi", "FREE money!!! Click here: http://win.example.com", ""];
    const enc = tok.encodeBatch(texts, { maxLength: 8 });
    assert.equal(enc.seqLength, 8);
    texts.forEach((t, b) => {
      const row = Array.from(enc.ids.subarray(b * 8, b * 8 + 8));
      const want = tok.encodeWithSpecial(t, { maxLength: 8 });
      assert.deepEqual(row.slice(0, want.length), want);
      assert.ok(row.slice(want.length).every((id) => id === tok.padId));
      assert.equal(enc.lengths[b], want.length);
      const mask = Array.from(enc.attentionMask.subarray(b * 8, b * 8 + 8));
      assert.deepEqual(
        mask,
        row.map((_, i) => (i < want.length ? 1 : 0)),
      );
    });
    assert.equal(tok.encodeBatch(texts, { maxLength: 8, padding: "longest" }).seqLength, 8);
    const hi = tok.encodeWithSpecial("Hi").length;
    assert.equal(tok.encodeBatch(["Hi"], { maxLength: 8, padding: "longest" }).seqLength, hi);
  });

  it("names what is wrong with bad input", () => {
    assert.throws(() => tok.encodeBatch(["x"], { maxLength: 1 }), /maxLength must be an integer >= 2/);
    const { "<s>": _, ...noBos } = vocab;
    assert.throws(() => RobertaTokenizer.fromJSON(noBos, [], "v.json"), /v\.json.*(no <s> token|dense)/);
  });
});
