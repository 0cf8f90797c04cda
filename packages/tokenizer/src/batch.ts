import { TokenizerError } from "./errors.js";

export interface EncodeBatchOptions {
  /** Row length T when padding to max_length, and the cap on real tokens per row. */
  maxLength: number;
  /** Id written after the real tokens (models mask it out using `lengths`). */
  padId: number;
  /** Which tokens to drop from texts longer than maxLength: "end" keeps the first maxLength (default), "start" the last. */
  truncation?: "end" | "start";
  /** "max_length" (default): T = maxLength, a fixed shape. "longest": T = longest row after truncation (at least 1). */
  padding?: "max_length" | "longest";
  /** Passed to encode(); by default "<|endoftext|>" in the texts is plain text. */
  allowedSpecial?: "all" | readonly string[];
}

export interface BatchEncoding {
  /** Row-major [batchSize, seqLength] ids; positions >= lengths[b] hold padId. */
  ids: Int32Array;
  /** Real (non-pad) tokens per row, after truncation; 0 for an empty text. */
  lengths: Int32Array;
  batchSize: number;
  seqLength: number;
}

interface Encoder {
  encode(text: string, options?: { allowedSpecial?: "all" | readonly string[] }): number[];
}

/** Encodes, truncates and pads `texts` into a dense id matrix for model input. */
export function encodeBatchWith(
  tokenizer: Encoder,
  texts: readonly string[],
  options: EncodeBatchOptions,
): BatchEncoding {
  const { maxLength, padId } = options;
  const truncation = options.truncation ?? "end";
  const padding = options.padding ?? "max_length";
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw new TokenizerError(
      "E_TOKENIZER_BAD_OPTIONS",
      `encodeBatch: maxLength must be a positive integer, got ${maxLength}`,
    );
  }
  if (!Number.isInteger(padId) || padId < 0 || padId > 0x7fffffff) {
    throw new TokenizerError(
      "E_TOKENIZER_BAD_OPTIONS",
      `encodeBatch: padId must be a non-negative integer, got ${padId}`,
    );
  }
  if (truncation !== "end" && truncation !== "start") {
    throw new TokenizerError(
      "E_TOKENIZER_BAD_OPTIONS",
      `encodeBatch: truncation must be "end" or "start", got ${JSON.stringify(truncation)}`,
    );
  }
  if (padding !== "max_length" && padding !== "longest") {
    throw new TokenizerError(
      "E_TOKENIZER_BAD_OPTIONS",
      `encodeBatch: padding must be "max_length" or "longest", got ${JSON.stringify(padding)}`,
    );
  }
  const encodeOptions =
    options.allowedSpecial === undefined ? {} : { allowedSpecial: options.allowedSpecial };
  const rows = texts.map((t) => {
    const ids = tokenizer.encode(t, encodeOptions);
    if (ids.length <= maxLength) return ids;
    return truncation === "end" ? ids.slice(0, maxLength) : ids.slice(ids.length - maxLength);
  });
  const batchSize = rows.length;
  const seqLength = padding === "max_length" ? maxLength : Math.max(1, ...rows.map((r) => r.length));
  const ids = new Int32Array(batchSize * seqLength).fill(padId);
  const lengths = new Int32Array(batchSize);
  for (let b = 0; b < batchSize; b++) {
    const row = rows[b]!;
    ids.set(row, b * seqLength);
    lengths[b] = row.length;
  }
  return { ids, lengths, batchSize, seqLength };
}

/** Row-major [batchSize, seqLength]: 1 on each row's real tokens (its first lengths[b]), 0 on padding. */
export function attentionMaskOf(batch: BatchEncoding): Int32Array {
  const mask = new Int32Array(batch.ids.length);
  for (let b = 0; b < batch.batchSize; b++)
    mask.fill(1, b * batch.seqLength, b * batch.seqLength + batch.lengths[b]!);
  return mask;
}
