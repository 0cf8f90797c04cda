/**
 * A labelled text dataset turned into fixed-length token rows once, so training steps only slice
 * arrays. Rows are right-padded; `lengths` marks the real tokens (the attention mask). With the
 * backbone's own tokenizer:
 * - byte-level BPE (GPT-2): the first `length` tokens, padded with <|endoftext|>; an empty text
 *   becomes a single <|endoftext|> so every row has at least one real token to pool over;
 * - WordPiece (BERT): [CLS] + the first length − 2 word pieces + [SEP], padded with [PAD], as
 *   Hugging Face's tokenizer with truncation and padding to `length` produces them. Special-token
 *   spellings in the text ("[SEP]") stay text, so data cannot forge a separator;
 * - RoBERTa's byte-level BPE: <s> + the first length − 2 tokens + </s>, padded with <pad>, likewise.
 */
import { type BpeTokenizer, RobertaTokenizer, WordPieceTokenizer } from "@memarc/tokenizer";
import * as tf from "@tensorflow/tfjs";

/** A backbone's tokenizer: GPT-2's byte-level BPE, BERT's WordPiece or RoBERTa's BPE with its template. */
export type TextTokenizer = BpeTokenizer | WordPieceTokenizer | RobertaTokenizer;

export interface TokenizedDataset {
  /** Row-major [count, length]. */
  ids: Int32Array;
  lengths: Int32Array;
  labels: Int32Array;
  count: number;
  length: number;
}

export function tokenizeDataset(
  tokenizer: TextTokenizer,
  texts: readonly string[],
  labels: Int32Array,
  length: number,
): TokenizedDataset {
  if (texts.length !== labels.length)
    throw new RangeError(`${texts.length} texts but ${labels.length} labels`);
  if (tokenizer instanceof WordPieceTokenizer || tokenizer instanceof RobertaTokenizer) {
    const enc = tokenizer.encodeBatch(texts, { maxLength: length, allowedSpecial: "none" });
    return { ids: enc.ids, lengths: enc.lengths, labels, count: texts.length, length };
  }
  const enc = tokenizer.encodeBatch(texts, { maxLength: length, padId: tokenizer.eotId, truncation: "end" });
  const lengths = Int32Array.from(enc.lengths);
  for (let i = 0; i < lengths.length; i++) {
    if (lengths[i] === 0) {
      enc.ids[i * length] = tokenizer.eotId;
      lengths[i] = 1;
    }
  }
  return { ids: enc.ids, lengths, labels, count: texts.length, length };
}

export interface BatchTensors {
  inputIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
  labels: tf.Tensor1D;
}

export function batchTensors(d: TokenizedDataset, rows: ArrayLike<number>): BatchTensors {
  const t = d.length;
  const ids = new Int32Array(rows.length * t);
  const mask = new Float32Array(rows.length * t);
  const labels = new Int32Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    ids.set(d.ids.subarray(i * t, (i + 1) * t), r * t);
    mask.fill(1, r * t, r * t + d.lengths[i]!);
    labels[r] = d.labels[i]!;
  }
  return {
    inputIds: tf.tensor2d(ids, [rows.length, t], "int32"),
    attentionMask: tf.tensor2d(mask, [rows.length, t]),
    labels: tf.tensor1d(labels, "int32"),
  };
}

export function disposeBatch(b: BatchTensors): void {
  tf.dispose([b.inputIds, b.attentionMask, b.labels]);
}
