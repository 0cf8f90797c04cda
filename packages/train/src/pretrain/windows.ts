/**
 * Language-model training data: documents → one token stream (documents separated by
 * <|endoftext|>) → non-overlapping windows of `length` tokens. Windows never need padding, so every
 * position predicts a real next token.
 */
import type { BpeTokenizer } from "@memarc/tokenizer";

export interface TokenWindows {
  /** Row-major [count, length] token ids. */
  ids: Int32Array;
  count: number;
  length: number;
  /** Tokens in the stream before windowing. */
  tokens: number;
}

export function tokenWindows(
  tokenizer: BpeTokenizer,
  documents: readonly string[],
  length: number,
): TokenWindows {
  if (!Number.isSafeInteger(length) || length < 2)
    throw new RangeError(`window length must be ≥ 2, got ${length}`);
  const stream: number[] = [];
  for (const doc of documents) {
    for (const id of tokenizer.encode(doc)) stream.push(id);
    stream.push(tokenizer.eotId);
  }
  const count = Math.floor(stream.length / length);
  return { ids: Int32Array.from(stream.slice(0, count * length)), count, length, tokens: stream.length };
}
