/**
 * RoBERTa's tokenizer: GPT-2's byte-level BPE (BpeTokenizer, the same regex and merges) with
 * RoBERTa's template `<s> … </s>` and `<pad>` padding — what Hugging Face `tokenizers` gives for a
 * roberta-base style tokenizer.json (ByteLevel pre-tokenizer without a prefix space,
 * RobertaProcessing). Text never forges a special token: "<s>" or "</s>" written in a text is
 * encoded as characters, as every tokenizer here does for untrusted input (Hugging Face would
 * turn them into their ids).
 */
import { attentionMaskOf, type BatchEncoding, encodeBatchWith } from "./batch.js";
import { BpeTokenizer, type MergeSpec } from "./bpe-tokenizer.js";
import { TokenizerError } from "./errors.js";

export const ROBERTA_SPECIALS = {
  bos: "<s>",
  pad: "<pad>",
  eos: "</s>",
  unk: "<unk>",
  mask: "<mask>",
} as const;

export interface RobertaBatchOptions {
  /** Row length T for "max_length" padding, and the cap on tokens per row including <s> and </s>. */
  maxLength: number;
  /** "max_length" (default): T = maxLength. "longest": T = longest row. */
  padding?: "max_length" | "longest";
}

export interface RobertaBatchEncoding extends BatchEncoding {
  /** Row-major [batchSize, seqLength]: 1 for <s>, the text's tokens and </s>, 0 for <pad>. */
  attentionMask: Int32Array;
}

export class RobertaTokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;

  private constructor(private readonly bpe: BpeTokenizer) {
    const id = (token: string): number => {
      const i = bpe.tokenToId(token);
      if (i === undefined) throw new Error(`unreachable: ${token} was checked by BpeTokenizer`);
      return i;
    };
    this.vocabSize = bpe.vocabSize;
    this.bosId = id(ROBERTA_SPECIALS.bos);
    this.eosId = id(ROBERTA_SPECIALS.eos);
    this.padId = id(ROBERTA_SPECIALS.pad);
  }

  /** From vocab.json's object and merges.txt's pairs; the vocabulary must hold RoBERTa's specials. */
  static fromJSON(
    vocab: Record<string, number>,
    merges: ReadonlyArray<MergeSpec>,
    /** Names the input in error messages (e.g. the vocab.json path it was read from). */
    source = "vocab",
  ): RobertaTokenizer {
    const specials: string[] = [
      ROBERTA_SPECIALS.bos,
      ROBERTA_SPECIALS.pad,
      ROBERTA_SPECIALS.eos,
      ROBERTA_SPECIALS.unk,
    ];
    if (ROBERTA_SPECIALS.mask in vocab) specials.push(ROBERTA_SPECIALS.mask);
    return new RobertaTokenizer(BpeTokenizer.fromJSON(vocab, merges, { specialTokens: specials }, source));
  }

  /** The text's ids, without <s> / </s>. */
  encode(text: string): number[] {
    return this.bpe.encode(text);
  }

  /** <s> + the text's first maxLength − 2 tokens + </s> (all of them without maxLength). */
  encodeWithSpecial(text: string, options: { maxLength?: number } = {}): number[] {
    const ids = this.bpe.encode(text);
    const { maxLength } = options;
    if (maxLength !== undefined) {
      if (!Number.isInteger(maxLength) || maxLength < 2)
        throw new TokenizerError(
          "E_TOKENIZER_BAD_OPTIONS",
          `maxLength must be an integer >= 2 (room for <s> and </s>), got ${maxLength}`,
        );
      if (ids.length > maxLength - 2) ids.length = maxLength - 2;
    }
    return [this.bosId, ...ids, this.eosId];
  }

  /** Each text as <s> … </s> (truncated to maxLength) in a dense [B, T] matrix padded with <pad>, and its mask. */
  encodeBatch(texts: readonly string[], options: RobertaBatchOptions): RobertaBatchEncoding {
    const { maxLength } = options;
    if (!Number.isInteger(maxLength) || maxLength < 2)
      throw new TokenizerError(
        "E_TOKENIZER_BAD_OPTIONS",
        `encodeBatch: maxLength must be an integer >= 2 (room for <s> and </s>), got ${maxLength}`,
      );
    const encoder = { encode: (t: string) => this.encodeWithSpecial(t, { maxLength }) };
    const batch = encodeBatchWith(encoder, texts, {
      maxLength,
      padId: this.padId,
      padding: options.padding ?? "max_length",
    });
    return { ...batch, attentionMask: attentionMaskOf(batch) };
  }

  /** The text of the ids, leaving out <s>, </s> and <pad> unless `skipSpecialTokens` is false. */
  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    const kept = Array.from(ids).filter(
      (id) => !skip || (id !== this.bosId && id !== this.eosId && id !== this.padId),
    );
    return this.bpe.decode(kept);
  }
}
