import { attentionMaskOf, type BatchEncoding, encodeBatchWith } from "./batch.js";
import { bertNormalize, bertWordRegExp } from "./bert-pretokenize.js";
import { TokenizerError } from "./errors.js";
import { splitSpecial } from "./pretokenize.js";
import { WordCache } from "./word-cache.js";
import { VocabTrie } from "./wordpiece-trie.js";

/** Longest word (UTF-16 units) whose ids are cached; longer words are rare and would bloat the cache. */
const MAX_CACHED_WORD = 64;

export interface WordPieceOptions {
  unkToken?: string; // default "[UNK]"
  clsToken?: string; // default "[CLS]"
  sepToken?: string; // default "[SEP]"
  padToken?: string; // default "[PAD]"
  maskToken?: string; // default "[MASK]"; optional in the vocab
  /** Continuation prefix of word pieces after the first. Default "##". */
  continuingSubwordPrefix?: string;
  /** Words with more code points than this become one unk token. Default 100. */
  maxInputCharsPerWord?: number;
  /** Words per cache generation (memory is at most twice this many entries). Default 20,000; 0 disables. */
  cacheSize?: number;
}

export interface WordPieceEncodeOptions {
  /**
   * Special tokens written literally in the text ("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]",
   * case-sensitive) that become their single id. Default "all", as Hugging Face's tokenizer does;
   * "none" (or a list) treats the others as text ("[", "cl", "##s", "]"), so untrusted text cannot
   * forge a separator.
   */
  allowedSpecial?: "all" | "none" | readonly string[];
}

export interface WordPieceSpecialOptions extends WordPieceEncodeOptions {
  /** Total length cap including [CLS] and [SEP] (at most maxLength - 2 word pieces are kept). */
  maxLength?: number;
}

export interface WordPieceBatchOptions extends WordPieceEncodeOptions {
  /** Row length T for "max_length" padding, and the cap on tokens per row including [CLS] and [SEP]. */
  maxLength: number;
  /** "max_length" (default): T = maxLength. "longest": T = longest row. */
  padding?: "max_length" | "longest";
}

export interface WordPieceBatchEncoding extends BatchEncoding {
  /** Row-major [batchSize, seqLength]: 1 for [CLS], word pieces and [SEP], 0 for [PAD] (id padId). */
  attentionMask: Int32Array;
}

export interface WordPieceDecodeOptions {
  /** Leave out special tokens ([CLS], [SEP], [PAD], [UNK], [MASK]). Default true, as in `tokenizers`. */
  skipSpecialTokens?: boolean;
}

/**
 * BERT WordPiece tokenizer, bit-exact with Hugging Face `tokenizers` running an uncased BERT
 * tokenizer.json (BertNormalizer with lowercase + strip_accents + clean_text + CJK spacing,
 * BertPreTokenizer, WordPiece with "##" continuations, [CLS] … [SEP] template), e.g.
 * sentence-transformers/all-MiniLM-L6-v2.
 *
 * encode: split out literal special tokens, normalise each remaining piece, split it into words,
 * and cut each word greedily into the longest vocabulary pieces from the left (a word with no
 * complete cut, or with more than maxInputCharsPerWord code points, is one [UNK]). Word results
 * are cached.
 */
export class WordPieceTokenizer {
  /** Number of ids (the embedding table size). */
  readonly vocabSize: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly maskId: number | undefined;

  private readonly tokens: readonly string[];
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly specials: ReadonlyMap<string, number>;
  private readonly specialIds: ReadonlySet<number>;
  private readonly prefix: string;
  private readonly maxChars: number;
  private readonly trie: VocabTrie;
  /** Trie node after the continuation prefix ("##"), or -1 if no token starts with it. */
  private readonly continuationNode: number;
  private readonly found = new Int32Array(1);
  private readonly cache: WordCache;
  private readonly wordRe = bertWordRegExp();

  private constructor(tokens: readonly string[], options: WordPieceOptions, source: string) {
    const map = new Map<string, number>();
    for (let id = 0; id < tokens.length; id++) {
      const t = tokens[id]!;
      if (t.length === 0) {
        throw new TokenizerError("E_TOKENIZER_BAD_VOCAB", `${source}: token ${id} is empty`);
      }
      if (map.has(t)) {
        throw new TokenizerError(
          "E_TOKENIZER_BAD_VOCAB",
          `${source}: token ${JSON.stringify(t)} appears twice (ids ${map.get(t)} and ${id})`,
        );
      }
      map.set(t, id);
    }
    const prefix = options.continuingSubwordPrefix ?? "##";
    const idOf = (token: string): number => {
      const id = map.get(token);
      if (id === undefined) {
        throw new TokenizerError("E_TOKENIZER_BAD_VOCAB", `${source}: vocab has no ${token} token`);
      }
      return id;
    };
    const maxChars = options.maxInputCharsPerWord ?? 100;
    if (!Number.isInteger(maxChars) || maxChars < 1) {
      throw new TokenizerError(
        "E_TOKENIZER_BAD_OPTIONS",
        `maxInputCharsPerWord must be a positive integer, got ${maxChars}`,
      );
    }

    this.tokens = tokens;
    this.vocab = map;
    this.vocabSize = tokens.length;
    this.unkId = idOf(options.unkToken ?? "[UNK]");
    this.clsId = idOf(options.clsToken ?? "[CLS]");
    this.sepId = idOf(options.sepToken ?? "[SEP]");
    this.padId = idOf(options.padToken ?? "[PAD]");
    this.maskId = map.get(options.maskToken ?? "[MASK]");
    const specials = new Map<string, number>();
    for (const id of [this.padId, this.unkId, this.clsId, this.sepId, this.maskId]) {
      if (id !== undefined) specials.set(tokens[id]!, id);
    }
    this.specials = specials;
    this.specialIds = new Set(specials.values());
    this.prefix = prefix;
    this.maxChars = maxChars;
    this.trie = new VocabTrie(tokens);
    this.continuationNode = this.trie.walk(prefix);
    this.cache = new WordCache(options.cacheSize ?? 20_000);
  }

  /** Builds a tokenizer from the tokens in id order. */
  static fromVocab(
    tokens: readonly string[],
    options: WordPieceOptions = {},
    /** Names the input in error messages (e.g. the vocab.txt path it was read from). */
    source = "vocab",
  ): WordPieceTokenizer {
    return new WordPieceTokenizer([...tokens], options, source);
  }

  /** Word-piece ids of `text`, without [CLS]/[SEP]. */
  encode(text: string, options: WordPieceEncodeOptions = {}): number[] {
    const out: number[] = [];
    const specials = this.allowedSpecials(options.allowedSpecial);
    if (specials.size === 0) {
      this.encodeOrdinary(text, out);
      return out;
    }
    // Matched on the raw text, before normalisation (tokenizer.json: normalized=false), leftmost
    // first and longest at a position, as the reference's added-vocabulary matcher.
    for (const seg of splitSpecial(text, specials)) {
      if ("special" in seg) out.push(seg.special);
      else this.encodeOrdinary(seg.text, out);
    }
    return out;
  }

  /** [CLS] + word pieces + [SEP], keeping at most maxLength - 2 word pieces (the first ones). */
  encodeWithSpecial(text: string, options: WordPieceSpecialOptions = {}): number[] {
    const ids = this.encode(text, options);
    const { maxLength } = options;
    if (maxLength !== undefined) {
      if (!Number.isInteger(maxLength) || maxLength < 2) {
        throw new TokenizerError(
          "E_TOKENIZER_BAD_OPTIONS",
          `maxLength must be an integer >= 2 (room for [CLS] and [SEP]), got ${maxLength}`,
        );
      }
      if (ids.length > maxLength - 2) ids.length = maxLength - 2;
    }
    return [this.clsId, ...ids, this.sepId];
  }

  /**
   * Encodes each text with [CLS]/[SEP] (truncated to maxLength) into a dense [B, T] id matrix padded
   * with [PAD], plus real lengths and the attention mask (1 on real tokens, 0 on padding).
   */
  encodeBatch(texts: readonly string[], options: WordPieceBatchOptions): WordPieceBatchEncoding {
    const { maxLength } = options;
    if (!Number.isInteger(maxLength) || maxLength < 2) {
      throw new TokenizerError(
        "E_TOKENIZER_BAD_OPTIONS",
        `encodeBatch: maxLength must be an integer >= 2 (room for [CLS] and [SEP]), got ${maxLength}`,
      );
    }
    const encoder = { encode: (t: string) => this.encodeWithSpecial(t, options) };
    const batch = encodeBatchWith(encoder, texts, {
      maxLength,
      padId: this.padId,
      padding: options.padding ?? "max_length",
    });
    return { ...batch, attentionMask: attentionMaskOf(batch) };
  }

  /**
   * Text for the ids as `tokenizers`' WordPiece decoder (cleanup on) gives it: pieces joined by
   * spaces, "##" pieces glued to the previous one, then per piece " ." → ".", " ," → ",", " 's" → "'s"
   * and the like. Throws on ids outside [0, vocabSize).
   */
  decode(ids: ArrayLike<number>, options: WordPieceDecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    const prefix = this.prefix;
    let out = "";
    let first = true;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const token = this.tokens[id];
      if (token === undefined) {
        throw new TokenizerError(
          "E_TOKENIZER_UNKNOWN_ID",
          `token id ${id} is not in the vocabulary (valid ids are 0..${this.vocabSize - 1})`,
        );
      }
      if (skip && this.specialIds.has(id)) continue;
      let piece: string;
      if (first) piece = token;
      else if (token.startsWith(prefix)) piece = token.slice(prefix.length);
      else piece = " " + token;
      out += cleanup(piece);
      first = false;
    }
    return out;
  }

  /** The vocabulary string of an id (e.g. "##ing"), or undefined. */
  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  /** The id of a vocabulary string, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  private allowedSpecials(allowed: WordPieceEncodeOptions["allowedSpecial"]): ReadonlyMap<string, number> {
    if (allowed === undefined || allowed === "all") return this.specials;
    if (allowed === "none") return EMPTY;
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
    const normalized = bertNormalize(text);
    const re = this.wordRe;
    re.lastIndex = 0;
    for (let m = re.exec(normalized); m !== null; m = re.exec(normalized)) {
      const word = m[0];
      const cacheable = word.length <= MAX_CACHED_WORD;
      if (cacheable) {
        const hit = this.cache.get(word);
        if (hit !== undefined) {
          for (let i = 0; i < hit.length; i++) out.push(hit[i]!);
          continue;
        }
      }
      const ids = this.wordPiece(word);
      if (cacheable) this.cache.set(word, ids);
      for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    }
  }

  /**
   * Greedy longest-match-first, as `tokenizers`' WordPiece model: the longest vocabulary token at the
   * start of the word, then the longest "##" token at the end of that piece, and so on; any
   * position with no match makes the whole word one unk.
   */
  private wordPiece(word: string): number[] {
    if (word.length > this.maxChars && codePointCount(word) > this.maxChars) return [this.unkId];
    const ids: number[] = [];
    const found = this.found;
    let start = 0;
    while (start < word.length) {
      const from = start === 0 ? 0 : this.continuationNode;
      const end = from === -1 ? -1 : this.trie.longest(word, start, from, found);
      if (end === -1) return [this.unkId];
      ids.push(found[0]!);
      start = end;
    }
    return ids;
  }
}

const EMPTY: ReadonlyMap<string, number> = new Map();

/** vocab.txt: one token per line (LF or CRLF), a final newline optional. */
export function parseVocabTxt(text: string): string[] {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
}

/** Whether s[i], s[i + 1] is a high + low surrogate pair (one code point in two UTF-16 units). */
function isSurrogatePair(s: string, i: number): boolean {
  const hi = s.charCodeAt(i);
  const lo = s.charCodeAt(i + 1);
  return hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff;
}

/** Code points (Rust's `chars().count()`), not UTF-16 units. */
function codePointCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    if (isSurrogatePair(s, i)) i++;
    n++;
  }
  return n;
}

/** `tokenizers`' decoder cleanup, applied to each piece (with its leading space) on its own. */
function cleanup(piece: string): string {
  if (!piece.includes(" ")) return piece;
  return piece
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" do not", " don't")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
