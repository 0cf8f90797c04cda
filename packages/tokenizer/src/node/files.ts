/** Tokenizer files on disk (Node only; browsers build tokenizers from the files' text). */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BpeTokenizer, type TokenizerOptions } from "../bpe-tokenizer.js";
import { TokenizerError } from "../errors.js";
import { parseMergesTxt, parseVocabJson } from "../gpt2-format.js";
import { parseVocabTxt, type WordPieceOptions, WordPieceTokenizer } from "../wordpiece.js";

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new TokenizerError("E_TOKENIZER_IO", `cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Loads a BERT vocab.txt: one token per line, the line number (from 0) is its id. */
export function wordPieceFromFile(vocabTxtPath: string, options: WordPieceOptions = {}): WordPieceTokenizer {
  return WordPieceTokenizer.fromVocab(parseVocabTxt(readText(vocabTxtPath)), options, vocabTxtPath);
}

/** Loads GPT-2-format files: vocab.json (encoder.json) and merges.txt (vocab.bpe). */
export function bpeFromFiles(
  vocabJsonPath: string,
  mergesTxtPath: string,
  options: TokenizerOptions = {},
): BpeTokenizer {
  return BpeTokenizer.fromJSON(
    parseVocabJson(readText(vocabJsonPath), vocabJsonPath),
    parseMergesTxt(readText(mergesTxtPath), mergesTxtPath),
    options,
    vocabJsonPath,
  );
}

/** Writes `dir/vocab.json` and `dir/merges.txt` in GPT-2's exact format (creating `dir`). */
export function saveBpe(tokenizer: BpeTokenizer, dir: string): { vocabPath: string; mergesPath: string } {
  const vocabPath = join(dir, "vocab.json");
  const mergesPath = join(dir, "merges.txt");
  const { vocabJson, mergesTxt } = tokenizer.toFiles();
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(vocabPath, vocabJson);
    writeFileSync(mergesPath, mergesTxt);
  } catch (err) {
    throw new TokenizerError("E_TOKENIZER_IO", `cannot save tokenizer to ${dir}: ${(err as Error).message}`);
  }
  return { vocabPath, mergesPath };
}
