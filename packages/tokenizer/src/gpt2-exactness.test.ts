import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { getEncoding } from "js-tiktoken";
import { HEAP_THRESHOLD } from "./merge.js";
import { gpt2Tokenizer, sotuTexts } from "./test-support.js";
import { insecureSeededUniformForTests } from "./testing/index.js";

const require = createRequire(import.meta.url);
const gpt3Encoder = require("gpt-3-encoder") as { encode(s: string): number[] };
const r50k = getEncoding("r50k_base");
/** tiktoken with "<|endoftext|>" treated as plain text (our default). */
const reference = (s: string): number[] => r50k.encode(s, [], []);

const HAND_WRITTEN: string[] = [
  "",
  " ",
  "  ",
  "\n",
  "\n\n\n",
  "\t",
  " \t \n ",
  "Hello world",
  "Hello, world!",
  "hello   world",
  "  leading spaces",
  "trailing spaces   ",
  "trailing newline\n",
  "The quick brown fox jumps over the lazy dog.",
  "It's, don't, we're, they've, I'm, you'll, he'd",
  "IT'S DON'T WE'RE THEY'VE I'M YOU'LL HE'D",
  "'s't're've'm'll'd",
  "rock 'n' roll",
  "Numbers: 0 1 12 123 1234 12345 123456 3.14159 -42 1e-9 0x1F 1,000,000",
  "2024-01-15T12:34:56Z",
  "$100.00 + €20 = ¥3000",
  "phone: +1 (555) 123-4567",
  "emoji: 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇺🇸",
  "🤗",
  "日本語のテキストです。",
  "中文文本，包含标点符号！",
  "한국어 텍스트",
  "Ελληνικά κείμενα",
  "Русский текст с пунктуацией: «ёлки-палки»",
  "עברית ומספרים 123",
  "العربية",
  "हिन्दी पाठ",
  "naïve café résumé façade coöperate Zürich São Paulo",
  "e\u0301 (combining acute) vs é",
  "ﬁ ligature, ℌ, ①②③, ½ ¾",
  "zero\u200bwidth\u200cjoiner\u200d",
  "nbsp\u00a0here and\u2003em space and\u3000ideographic",
  "\ufeffBOM at start",
  "line1\r\nline2\rline3\n",
  "<|endoftext|>",
  "before<|endoftext|>after",
  "<|endoftext|><|endoftext|>",
  " <|endoftext|> ",
  "<|endof",
  "function add(a, b) {\n  return a + b;\n}\n",
  "const x = [1, 2, 3].map((n) => n * 2); // double",
  "def f(x):\n    if x > 0:\n        return x ** 2\n    return None\n",
  "SELECT * FROM users WHERE id = 42 AND name LIKE '%bob%';",
  '{"key": "value", "list": [1, 2.5, null, true]}',
  '<html><body class="main">Hi &amp; bye</body></html>',
  '#include <stdio.h>\nint main(void){printf("%d\\n", 1);}',
  "a".repeat(100),
  " ".repeat(70),
  "\n".repeat(30),
  "ab".repeat(50),
  "!!!???...,,,;;;:::",
  "---===___+++***",
  "https://example.com/path?query=1&b=two#frag",
  "user@example.org",
  "C:\\Windows\\System32",
  "snake_case camelCase PascalCase kebab-case SCREAMING_CASE",
  "Mr. O'Neil's dog's bone",
  "tab\tseparated\tvalues\t1\t2",
  "mixed 123abc abc123 1a2b3c",
  "\u0000control\u0001chars\u001f\u007f",
  "\u00ad soft hyphen \u00ad",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝟙𝟚𝟛",
  "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
];

/** Random mixtures of fragments that stress boundaries between regex alternatives. */
function generatedStrings(count: number): string[] {
  const rnd = insecureSeededUniformForTests(1234);
  const fragments = [
    "the",
    " the",
    "The",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\t",
    "'s",
    "'ll",
    "'",
    "don't",
    "123",
    " 456",
    "7",
    "3.5",
    "!",
    "?!",
    " ...",
    "(",
    ")",
    "{",
    "}",
    "é",
    "ñ",
    "ü",
    "日本",
    "語",
    "😀",
    "👍🏽",
    "🇯🇵",
    "<|endoftext|>",
    "<|",
    "|>",
    "endoftext",
    "\u00a0",
    "\u3000",
    "Δ",
    "ß",
    "Ω",
    "ﬀ",
    "a",
    "b",
    "_",
    "-",
    "=>",
    "//",
    "/*",
    "*/",
    "\r\n",
    "GPT",
    "Ġ",
    "\u0120",
    "ĊĠ",
    "z".repeat(7),
  ];
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    const n = 1 + Math.floor(rnd() * 12);
    let s = "";
    for (let i = 0; i < n; i++) s += fragments[Math.floor(rnd() * fragments.length)]!;
    out.push(s);
  }
  // Random code points from many planes (well-formed strings only).
  for (let k = 0; k < 60; k++) {
    let s = "";
    const n = 1 + Math.floor(rnd() * 20);
    for (let i = 0; i < n; i++) {
      const r = rnd();
      let cp: number;
      if (r < 0.4) cp = 0x20 + Math.floor(rnd() * 95);
      else if (r < 0.6) cp = Math.floor(rnd() * 0x800);
      else if (r < 0.8) cp = Math.floor(rnd() * 0xd800);
      else cp = 0x10000 + Math.floor(rnd() * 0x100000);
      s += String.fromCodePoint(cp);
    }
    out.push(s);
  }
  return out;
}

function proseAndCodeLines(): string[] {
  const sotu = sotuTexts();
  const prose = [sotu[0]!, sotu[120]!, sotu[232]!].flatMap((t) =>
    t.split(/(?<=\.)\s+/).filter((_, i) => i % 7 === 0),
  );
  const code = readFileSync(require.resolve("gpt-3-encoder/Encoder.js"), "utf8").split("\n");
  return [...prose.slice(0, 120), ...code.slice(0, 80)];
}

const CORPUS = [...HAND_WRITTEN, ...generatedStrings(240), ...proseAndCodeLines()];

describe("GPT-2 exactness", () => {
  const tok = gpt2Tokenizer();

  it(`uses a corpus of a few hundred varied strings (${CORPUS.length})`, () => {
    assert.ok(CORPUS.length >= 300);
    // No lone surrogates: those are not Unicode text and cannot round-trip through UTF-8.
    assert.ok(CORPUS.every((s) => !/\p{Cs}/u.test(s)));
  });

  it("encode equals js-tiktoken r50k_base on every corpus string", () => {
    const mismatches: string[] = [];
    for (const s of CORPUS) {
      const ours = tok.encode(s);
      if (JSON.stringify(ours) !== JSON.stringify(reference(s))) mismatches.push(s);
    }
    assert.deepEqual(mismatches, []);
  });

  it("encode equals gpt-3-encoder on every corpus string", () => {
    const mismatches: string[] = [];
    for (const s of CORPUS) {
      if (JSON.stringify(tok.encode(s)) !== JSON.stringify(gpt3Encoder.encode(s))) mismatches.push(s);
    }
    assert.deepEqual(mismatches, []);
  });

  it("decode(encode(s)) === s for every corpus string", () => {
    for (const s of CORPUS) assert.equal(tok.decode(tok.encode(s)), s);
  });

  it("spot checks against ids known from GPT-2", () => {
    assert.deepEqual(tok.encode("Hello world"), [15496, 995]);
    assert.deepEqual(tok.encode(" the"), [262]);
    assert.equal(tok.vocabSize, 50257);
    assert.equal(tok.eotId, 50256);
  });

  it("matches tiktoken on whole documents (1 MB of prose with newlines and long whitespace)", () => {
    const docs = sotuTexts().slice(200, 215);
    const text = docs.join("\n\n\n     \n");
    assert.ok(text.length > 500_000);
    assert.deepEqual(tok.encode(text), reference(text));
  });

  it(`matches tiktoken on words longer than ${HEAP_THRESHOLD} bytes (heap merge path)`, () => {
    const rnd = insecureSeededUniformForTests(99);
    const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789+/=éü日😀";
    const cases = [
      "x".repeat(HEAP_THRESHOLD),
      "supercalifragilisticexpialidocious".repeat(5),
      " " + "ab".repeat(400),
      " ".repeat(5000) + "z",
      "\n".repeat(1000),
      "1234567890".repeat(40),
      "!@#$%^&*()".repeat(30),
      "日本語".repeat(60),
      "😀".repeat(40),
    ];
    for (let k = 0; k < 30; k++) {
      let s = "";
      const n = HEAP_THRESHOLD + Math.floor(rnd() * 400);
      for (let i = 0; i < n; i++) s += [...alphabet][Math.floor(rnd() * [...alphabet].length)]!;
      cases.push(s);
    }
    for (const s of cases) {
      assert.deepEqual(tok.encode(s), reference(s), `mismatch on ${JSON.stringify(s.slice(0, 40))}…`);
      assert.equal(tok.decode(tok.encode(s)), s);
    }
  });

  it("with allowedSpecial, <|endoftext|> becomes eotId exactly as tiktoken does", () => {
    for (const s of CORPUS.filter((x) => x.includes("<|endoftext|>"))) {
      assert.deepEqual(tok.encode(s, { allowedSpecial: "all" }), r50k.encode(s, "all"));
      assert.deepEqual(tok.encode(s, { allowedSpecial: ["<|endoftext|>"] }), r50k.encode(s, "all"));
    }
  });
});
