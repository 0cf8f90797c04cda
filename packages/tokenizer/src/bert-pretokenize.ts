/**
 * BERT text normalisation and pre-tokenisation, exactly as Hugging Face `tokenizers` runs them for
 * a tokenizer.json with `BertNormalizer(clean_text, handle_chinese_chars, strip_accents = lowercase
 * = true)` and `BertPreTokenizer` (uncased BERT models such as all-MiniLM-L6-v2).
 *
 * Normaliser, in the reference's order:
 *  1. clean_text: drop U+0000, U+FFFD and control/format/private-use characters (Cc, Cf, Co), except
 *     tab, LF and CR; map every whitespace character (White_Space, tab, LF, CR) to a space.
 *  2. handle_chinese_chars: a space before and after each CJK ideograph.
 *  3. strip_accents: NFD, then drop non-spacing marks (Mn).
 *  4. lowercase: each character's full lowercase mapping on its own (Rust's `char::to_lowercase`),
 *     so "Σ" is always "σ": String.prototype.toLowerCase would give the word-final "ς".
 * Pre-tokeniser: split on whitespace (dropped) and around every punctuation character (kept, one
 * per word): ASCII punctuation plus Unicode P*.
 * See bert-unicode.ts for where the reference's Unicode tables differ from the runtime's.
 */
import {
  CJK_CLASS,
  NFD_OPAQUE_CLASS,
  PUNCT_CLASS,
  REMOVED_CLASS,
  STRIPPED_MARK_CLASS,
} from "./bert-unicode.js";

// v-flag regexes (set subtraction in classes); the v flag needs Node 20 / V8 11.3.
const CLEAN_RE = new RegExp(`${REMOVED_CLASS}|[\\p{White_Space}${CJK_CLASS}]`, "gv");
const STRIP_RE = new RegExp(STRIPPED_MARK_CLASS, "gv");
const OPAQUE_RE = new RegExp(NFD_OPAQUE_CLASS, "v");
const OPAQUE_SPLIT_RE = new RegExp(`(${NFD_OPAQUE_CLASS})`, "v");
const REMOVED_RE = new RegExp(`^${REMOVED_CLASS}$`, "v");
const WHITESPACE_RE = /^\p{White_Space}$/u;
const CJK_RE = new RegExp(`^[${CJK_CLASS}]$`, "u");
/** A word: a run of characters that are neither whitespace nor punctuation, or one punctuation char. */
const WORD_SOURCE = `[^\\p{White_Space}${PUNCT_CLASS}]+|${PUNCT_CLASS}`;

/** Text that needs none of clean_text's removals/CJK spacing, NFD or mark stripping: printable ASCII. */
const PLAIN_ASCII_RE = /^[\x20-\x7e\t\n\r]*$/;
/** Cc except tab, LF, CR (written as a double negation to keep control characters out of the source). */
const ASCII_REMOVED_RE = /[^\P{Cc}\t\n\r]/gu;
const NON_ASCII_RE = /\P{ASCII}/u;
const ASCII_SPACE_RE = /[\t\n\r]/g;

function cleanChar(c: string): string {
  if (c === "\t" || c === "\n" || c === "\r") return " ";
  // Control before whitespace: U+0085 (NEL) is both, and the reference removes it.
  if (REMOVED_RE.test(c)) return "";
  if (WHITESPACE_RE.test(c)) return " ";
  if (CJK_RE.test(c)) return " " + c + " ";
  return "";
}

/** NFD, leaving alone the characters the reference's normalisation table does not decompose. */
function nfd(text: string): string {
  if (!OPAQUE_RE.test(text)) return text.normalize("NFD");
  // Those characters act as starters (combining class 0) for the reference, so NFD of the pieces
  // between them, concatenated, is what it computes.
  return text
    .split(OPAQUE_SPLIT_RE)
    .map((piece, i) => (i % 2 === 1 ? piece : piece.normalize("NFD")))
    .join("");
}

/** BertNormalizer: clean_text, CJK spacing, NFD + drop Mn, lowercase. Equals `normalizer.normalize_str`. */
export function bertNormalize(text: string): string {
  if (PLAIN_ASCII_RE.test(text)) return text.replace(ASCII_SPACE_RE, " ").toLowerCase();
  if (!NON_ASCII_RE.test(text)) {
    return text.replace(ASCII_REMOVED_RE, "").replace(ASCII_SPACE_RE, " ").toLowerCase();
  }
  const cleaned = text.replace(CLEAN_RE, cleanChar);
  const stripped = nfd(cleaned).replace(STRIP_RE, "");
  // Σ → σ first: toLowerCase applies Unicode's Final_Sigma context rule, the reference does not.
  return stripped.replaceAll("Σ", "σ").toLowerCase();
}

/** A fresh global regex matching BertPreTokenizer's words (callers own its lastIndex). */
export function bertWordRegExp(): RegExp {
  return new RegExp(WORD_SOURCE, "gv");
}

const WORD_RE = bertWordRegExp();

/** BertPreTokenizer on already-normalised text: the words, in order. Equals `pre_tokenize_str`'s strings. */
export function bertPreTokenize(normalized: string): string[] {
  WORD_RE.lastIndex = 0;
  return normalized.match(WORD_RE) ?? [];
}
