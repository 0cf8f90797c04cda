// WordPieceTokenizer against Hugging Face `tokenizers` (Rust) running all-MiniLM-L6-v2's
// tokenizer.json: ids, truncation, decoding and every Unicode code point, from the golden file
// written by scripts/make-wordpiece-fixture.py.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { bertNormalize, bertPreTokenize } from "./bert-pretokenize.js";
import { minilmTokenizer, WORDPIECE_GOLDEN_JSON } from "./test-support.js";

interface GoldenCase {
  kind: string;
  text: string;
  ids: number[];
  ids64?: number[];
  decoded?: string;
  decodedWithSpecial?: string;
}

interface Golden {
  tokenizersVersion: string;
  maxLength: number;
  cases: GoldenCase[];
  noSpecialCases: { text: string; ids: number[] }[];
  codePointChunks: {
    chunkSize: number;
    probePlanes: number[];
    probeA: [string, string];
    probeB: [string, string];
    sha256Prefixes: string[];
  };
}

const golden = JSON.parse(readFileSync(WORDPIECE_GOLDEN_JSON, "utf8")) as Golden;

function show(text: string): string {
  const s = JSON.stringify(text);
  return s.length > 200 ? s.slice(0, 200) + "…" : s;
}

describe(`WordPiece equals tokenizers ${golden.tokenizersVersion} (all-MiniLM-L6-v2)`, () => {
  const tok = minilmTokenizer();

  it(`encodes ${golden.cases.length} strings (e-mail snippets and edge cases) with [CLS]/[SEP]`, () => {
    assert.ok(golden.cases.length >= 250);
    for (const c of golden.cases) {
      assert.deepEqual(tok.encodeWithSpecial(c.text), c.ids, `${c.kind} case ${show(c.text)}`);
    }
  });

  it(`truncates to maxLength ${golden.maxLength} as the reference does`, () => {
    let truncated = 0;
    for (const c of golden.cases) {
      const expected = c.ids64 ?? c.ids;
      if (c.ids64) truncated++;
      const got = tok.encodeWithSpecial(c.text, { maxLength: golden.maxLength });
      assert.deepEqual(got, expected, `${c.kind} case ${show(c.text)}`);
    }
    assert.ok(truncated > 100, `only ${truncated} cases exceed ${golden.maxLength} tokens`);
  });

  it("decodes as the reference's WordPiece decoder (cleanup on, specials skipped or kept)", () => {
    let n = 0;
    for (const c of golden.cases) {
      if (c.decoded !== undefined) {
        assert.equal(tok.decode(c.ids), c.decoded, `${c.kind} case ${show(c.text)}`);
        n++;
      }
      if (c.decodedWithSpecial !== undefined) {
        assert.equal(tok.decode(c.ids, { skipSpecialTokens: false }), c.decodedWithSpecial, show(c.text));
      }
    }
    assert.ok(n > 100);
  });

  it('treats literal special tokens as text with allowedSpecial "none" (encode_special_tokens)', () => {
    for (const c of golden.noSpecialCases) {
      assert.deepEqual(tok.encodeWithSpecial(c.text, { allowedSpecial: "none" }), c.ids, show(c.text));
    }
  });

  it("agrees on every Unicode code point, alone and (planes 0, 1, 14) between combining marks", () => {
    const { chunkSize, probePlanes, probeA, probeB, sha256Prefixes } = golden.codePointChunks;
    assert.equal(sha256Prefixes.length, 0x110000 / chunkSize);
    const bad: string[] = [];
    for (let k = 0; k < sha256Prefixes.length; k++) {
      const base = k * chunkSize;
      let text = "";
      for (let cp = base; cp < base + chunkSize; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        const c = String.fromCodePoint(cp);
        text += c + " ";
        if (probePlanes.includes(cp >> 16)) text += probeB[0] + c + probeB[1] + probeA[0] + c + probeA[1];
      }
      const normalized = bertNormalize(text);
      const words = bertPreTokenize(normalized);
      const ids = tok.encode(text);
      const blob = normalized + "\x00" + words.join("\x01") + "\x00" + ids.join(",");
      const hash = createHash("sha256").update(blob, "utf8").digest("hex").slice(0, 16);
      if (hash !== sha256Prefixes[k]) {
        const hex = (x: number) => x.toString(16).toUpperCase().padStart(4, "0");
        bad.push(`U+${hex(base)}..U+${hex(base + chunkSize - 1)}`);
      }
    }
    assert.deepEqual(
      bad,
      [],
      "code-point ranges whose normalisation, words or ids differ (see bert-unicode.ts)",
    );
  });
});
