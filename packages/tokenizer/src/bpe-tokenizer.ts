import { type BatchEncoding, type EncodeBatchOptions, encodeBatchWith } from "./batch.js";
import { BYTE_TO_CHAR, tokenToBytes } from "./byte-unicode.js";
import { TokenizerError } from "./errors.js";
import { serializeMergesTxt, serializeVocabJson } from "./gpt2-format.js";
import { applyMerges, type MergeRules } from "./merge.js";
import { PairTable } from "./pair-table.js";
import { GPT2_PATTERN_SOURCE, splitSpecial } from "./pretokenize.js";
import { WordCache } from "./word-cache.js";

/** GPT-2's end-of-text / document separator token. */
export const ENDOFTEXT = "<|endoftext|>";

/** Longest pre-token (in UTF-16 units) whose ids are cached; longer ones are rare and would bloat it. */
const MAX_CACHED_WORD = 64;
/** Symbol ids must fit the heap packing in merge.ts. */
const MAX_VOCAB = 1 << 21;

export interface TokenizerOptions {
  /** Words per cache generation (memory is at most twice this many entries). Default 20,000; 0 disables. */
  cacheSize?: number;
  /**
   * The vocabulary's special tokens (each must be in it; `allowedSpecial` picks among them). Default
   * GPT-2's one, "<|endoftext|>"; RoBERTa's are "<s>", "<pad>", "</s>", "<unk>", "<mask>"
   * (RobertaTokenizer passes them).
   */
  specialTokens?: readonly string[];
}

export interface EncodeOptions {
  /**
   * Special tokens to recognise in the text and emit as their single id. By default none are: the
   * string "<|endoftext|>" in user text is encoded as ordinary characters, so untrusted input can never
   * forge a document boundary.
   */
  allowedSpecial?: "all" | readonly string[];
}

export type MergeSpec = string | readonly [string, string];

/**
 * Byte-level BPE tokenizer, bit-exact with GPT-2's encoder.py when loaded with GPT-2's files.
 *
 * encode: pre-tokenise with GPT-2's regex, map each word's UTF-8 bytes to the 256 byte symbols, apply
 * merges by rank (cached per word). decode: concatenate each id's bytes and decode UTF-8, replacing
 * invalid sequences with U+FFFD like Python's `errors="replace"`.
 */
export class BpeTokenizer {
  /** Number of ids (max id + 1): the embedding table size. */
  readonly vocabSize: number;
  /**
   * Id of `<|endoftext|>`; −1 when the vocabulary has none, which only a tokenizer built with other
   * `specialTokens` allows (RoBERTa's: RobertaTokenizer gives its <s>, </s> and <pad> ids instead).
   */
  readonly eotId: number;

  private readonly tokens: readonly string[];
  private readonly tokenBytes: readonly Uint8Array[];
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly mergeList: ReadonlyArray<readonly [string, string]>;
  private readonly rules: MergeRules;
  private readonly byteIds: Int32Array;
  private readonly specials: ReadonlyMap<string, number>;
  private readonly cache: WordCache;
  private readonly pattern = new RegExp(GPT2_PATTERN_SOURCE, "gu");
  private readonly utf8Encoder = new TextEncoder();
  // ignoreBOM: keep a leading U+FEFF as text; Python's "utf-8" codec does not strip it either.
  private readonly utf8Decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

  private constructor(
    vocab: Record<string, number>,
    merges: ReadonlyArray<MergeSpec>,
    options: TokenizerOptions,
    source: string,
  ) {
    // --- vocab: dense ids 0..n-1, every token spelled in byte characters, all 256 bytes present.
    const entries = Object.entries(vocab);
    const n = entries.length;
    if (n > MAX_VOCAB) {
      throw new TokenizerError(
        "E_TOKENIZER_BAD_VOCAB",
        `${source}: ${n} tokens exceeds the ${MAX_VOCAB} limit`,
      );
    }
    const tokens = new Array<string>(n);
    const tokenBytes = new Array<Uint8Array>(n);
    const map = new Map<string, number>();
    for (const [token, id] of entries) {
      if (!Number.isInteger(id) || id < 0 || id >= n) {
        throw new TokenizerError(
          "E_TOKENIZER_BAD_VOCAB",
          `${source}: id ${JSON.stringify(id)} of token ${JSON.stringify(token)} is not an integer in [0, ${n}); ids must be dense`,
        );
      }
      if (tokens[id] !== undefined) {
        throw new TokenizerError(
          "E_TOKENIZER_BAD_VOCAB",
          `${source}: id ${id} is used by both ${JSON.stringify(tokens[id])} and ${JSON.stringify(token)}`,
        );
      }
      const bytes = tokenToBytes(token);
      if (bytes === undefined || bytes.length === 0) {
        throw new TokenizerError(
          "E_TOKENIZER_BAD_VOCAB",
          `${source}: token ${JSON.stringify(token)} is not written in GPT-2's byte-to-unicode alphabet`,
        );
      }
      tokens[id] = token;
      tokenBytes[id] = bytes;
      map.set(token, id);
    }
    const byteIds = new Int32Array(256);
    for (let b = 0; b < 256; b++) {
      const id = map.get(BYTE_TO_CHAR[b]!);
      if (id === undefined) {
        throw new TokenizerError(
          "E_TOKENIZER_BAD_VOCAB",
          `${source}: byte 0x${b.toString(16).padStart(2, "0")} (${JSON.stringify(BYTE_TO_CHAR[b])}) is missing; byte-level BPE needs all 256`,
        );
      }
      byteIds[b] = id;
    }
    const specials = new Map<string, number>();
    for (const token of options.specialTokens ?? [ENDOFTEXT]) {
      const id = map.get(token);
      if (id === undefined)
        throw new TokenizerError("E_TOKENIZER_BAD_VOCAB", `${source}: vocab has no ${token} token`);
      specials.set(token, id);
    }

    // --- merges: rank = position; both halves and their concatenation must be in the vocab.
    const ranks = new PairTable(merges.length);
    const results = new Int32Array(merges.length);
    const mergeList: Array<readonly [string, string]> = [];
    for (let r = 0; r < merges.length; r++) {
      const spec = merges[r]!;
      const pair = typeof spec === "string" ? spec.split(" ") : spec;
      if (pair.length !== 2) {
        throw new TokenizerError(
          "E_TOKENIZER_BAD_MERGES",
          `merge #${r} ${JSON.stringify(spec)}: expected "left right" or [left, right]`,
        );
      }
      const [left, right] = pair as readonly [string, string];
      const a = map.get(left);
      const b = map.get(right);
      const c = map.get(left + right);
      if (a === undefined || b === undefined || c === undefined) {
        const missing = a === undefined ? left : b === undefined ? right : left + right;
        throw new TokenizerError(
          "E_TOKENIZER_BAD_MERGES",
          `merge #${r} "${left} ${right}": ${JSON.stringify(missing)} is not in the vocab`,
        );
      }
      if (ranks.has(a, b)) {
        throw new TokenizerError(
          "E_TOKENIZER_BAD_MERGES",
          `merge #${r} "${left} ${right}" repeats merge #${ranks.get(a, b)}`,
        );
      }
      ranks.set(a, b, r);
      results[r] = c;
      mergeList.push([left, right]);
    }

    this.vocabSize = n;
    this.eotId = map.get(ENDOFTEXT) ?? -1;
    this.tokens = tokens;
    this.tokenBytes = tokenBytes;
    this.vocab = map;
    this.mergeList = mergeList;
    this.rules = { ranks, results };
    this.byteIds = byteIds;
    this.specials = specials;
    this.cache = new WordCache(options.cacheSize ?? 20_000);
  }

  /**
   * Builds a tokenizer from a token -> id object (vocab.json's content) and merges in rank order, each
   * either "left right" or [left, right].
   */
  static fromJSON(
    vocab: Record<string, number>,
    merges: ReadonlyArray<MergeSpec>,
    options: TokenizerOptions = {},
    /** Names the input in error messages (e.g. the vocab.json path it was read from). */
    source = "vocab",
  ): BpeTokenizer {
    return new BpeTokenizer(vocab, merges, options, source);
  }

  /** Token ids for `text`. Special tokens are only recognised when listed in `allowedSpecial`. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    const allowed = this.allowedSpecials(options.allowedSpecial);
    if (allowed.size === 0) {
      this.encodeOrdinary(text, out);
      return out;
    }
    for (const seg of splitSpecial(text, allowed)) {
      if ("special" in seg) out.push(seg.special);
      else this.encodeOrdinary(seg.text, out);
    }
    return out;
  }

  /** Pads/truncates a batch into a dense [B, T] id matrix plus real lengths; see {@link encodeBatchWith}. */
  encodeBatch(texts: readonly string[], options: EncodeBatchOptions): BatchEncoding {
    return encodeBatchWith(this, texts, options);
  }

  /** The raw bytes the ids stand for. Throws on ids outside [0, vocabSize). */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += this.bytesOf(ids[i]!).length;
    const out = new Uint8Array(total);
    let off = 0;
    for (let i = 0; i < ids.length; i++) {
      const b = this.tokenBytes[ids[i]!]!;
      out.set(b, off);
      off += b.length;
    }
    return out;
  }

  /** Text for the ids; byte sequences that are not valid UTF-8 become U+FFFD (Python errors="replace"). */
  decode(ids: ArrayLike<number>): string {
    return this.utf8Decoder.decode(this.decodeBytes(ids));
  }

  /** The vocab string of an id (byte-to-unicode spelling, e.g. "Ġthe"), or undefined. */
  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  /** The id of a vocab string, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  /** Merges in rank order. */
  get merges(): ReadonlyArray<readonly [string, string]> {
    return this.mergeList;
  }

  /** vocab.json content and merges, suitable for {@link BpeTokenizer.fromJSON}. */
  toJSON(): { vocab: Record<string, number>; merges: string[] } {
    const vocab: Record<string, number> = {};
    for (let id = 0; id < this.tokens.length; id++) vocab[this.tokens[id]!] = id;
    return { vocab, merges: this.mergeList.map(([a, b]) => a + " " + b) };
  }

  /** The text of vocab.json and merges.txt in GPT-2's exact format (saveBpe writes them). */
  toFiles(): { vocabJson: string; mergesTxt: string } {
    return { vocabJson: serializeVocabJson(this.tokens), mergesTxt: serializeMergesTxt(this.mergeList) };
  }

  private bytesOf(id: number): Uint8Array {
    const b = this.tokenBytes[id];
    if (b === undefined) {
      throw new TokenizerError(
        "E_TOKENIZER_UNKNOWN_ID",
        `token id ${id} is not in the vocabulary (valid ids are 0..${this.vocabSize - 1})`,
      );
    }
    return b;
  }

  private allowedSpecials(allowed: EncodeOptions["allowedSpecial"]): ReadonlyMap<string, number> {
    if (allowed === undefined) return EMPTY;
    if (allowed === "all") return this.specials;
    const out = new Map<string, number>();
    for (const name of allowed) {
      const id = this.specials.get(name);
      if (id === undefined) {
        throw new TokenizerError(
          "E_TOKENIZER_BAD_OPTIONS",
          `allowedSpecial: ${JSON.stringify(name)} is not a special token (known: ${[...this.specials.keys()].join(", ")})`,
        );
      }
      out.set(name, id);
    }
    return out;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    const re = this.pattern;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const word = m[0];
      const cacheable = word.length <= MAX_CACHED_WORD;
      if (cacheable) {
        const hit = this.cache.get(word);
        if (hit !== undefined) {
          for (let i = 0; i < hit.length; i++) out.push(hit[i]!);
          continue;
        }
      }
      const ids = this.bpeWord(word);
      if (cacheable) this.cache.set(word, ids);
      for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    }
  }

  private bpeWord(word: string): number[] {
    const symbols: number[] = [];
    const byteIds = this.byteIds;
    let ascii = true;
    for (let i = 0; i < word.length; i++) {
      const c = word.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      symbols.push(byteIds[c]!);
    }
    if (!ascii) {
      symbols.length = 0;
      // Lone surrogates (not valid Unicode) become U+FFFD here, as in every UTF-8 encoder.
      const bytes = this.utf8Encoder.encode(word);
      for (let i = 0; i < bytes.length; i++) symbols.push(byteIds[bytes[i]!]!);
    }
    const ids: number[] = [];
    applyMerges(symbols, this.rules, ids);
    return ids;
  }
}

const EMPTY: ReadonlyMap<string, number> = new Map();
