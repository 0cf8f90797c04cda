/**
 * Character classes of Hugging Face's BERT pipeline (the Rust `tokenizers` BertNormalizer and
 * BertPreTokenizer that a model's tokenizer.json configures), as regular-expression sources.
 *
 * The reference takes general categories from the `unicode_categories` crate, whose tables are
 * Unicode 8.0, and decompositions from an older normalisation table than today's; JavaScript's
 * `\p{..}` and `String.prototype.normalize` follow the engine's ICU (Unicode 17 in Node 20.20). A
 * character assigned or re-categorised since then is therefore an ordinary letter to the reference
 * (kept, not punctuation, not stripped as an accent) even where `\p{..}` says otherwise. The lists
 * below are exactly those differences, measured by running the reference on every code point (the
 * exhaustive test in wordpiece-exactness.test.ts checks them against its output). A runtime with a
 * Unicode version newer than 17 could need more entries; that test would name the code points.
 */

/** Parses "0890-0891 08E2 ..." (hex code points and inclusive ranges) into a regex class body. */
function classBody(list: string): string {
  return list
    .split(/\s+/)
    .filter((s) => s.length > 0)
    .map((item) => {
      const [a, b] = item.split("-") as [string, string | undefined];
      return b === undefined ? `\\u{${a}}` : `\\u{${a}}-\\u{${b}}`;
    })
    .join("");
}

/** Cf/Co now, unassigned in Unicode 8: the reference keeps them (its `is_control` is false). */
const FORMAT_NOT_IN_REFERENCE = "0890-0891 08E2 110CD 13430-1343F";

/** Mn now, unassigned in Unicode 8: the reference does not strip them. */
const MN_NOT_IN_REFERENCE =
  "07FD 0897-089F 08CA-08E1 09FE 0AFA-0AFF 0B55 0C04 0C3C 0D00 0D3B-0D3C 0D81 0EBA 0ECE 180F " +
  "1885-1886 1ABF-1ADD 1AE0-1AEB 1DF6-1DFB A82C A8C5 A8FF A9BD 10D24-10D27 10D69-10D6D 10EAB-10EAC " +
  "10EFA-10EFF 10F46-10F50 10F82-10F85 11070 11073-11074 110C2 111C9 111CF 1123E 11241 1133B " +
  "113BB-113C0 113CE 113D0 113D2 113E1-113E2 11438-1143F 11442-11444 11446 1145E 1182F-11837 " +
  "11839-1183A 1193B-1193C 1193E 11943 119D4-119D7 119DA-119DB 119E0 11A01-11A0A 11A33-11A38 " +
  "11A3B-11A3E 11A47 11A51-11A56 11A59-11A5B 11A8A-11A96 11A98-11A99 11B60 11B62-11B64 11B66 " +
  "11C30-11C36 11C38-11C3D 11C3F 11C92-11CA7 11CAA-11CB0 11CB2-11CB3 11CB5-11CB6 11D31-11D36 11D3A " +
  "11D3C-11D3D 11D3F-11D45 11D47 11D90-11D91 11D95 11D97 11EF3-11EF4 11F00-11F01 11F36-11F3A 11F40 " +
  "11F42 11F5A 13440 13447-13455 1611E-16129 1612D-1612F 16F4F 16FE4 1CF00-1CF2D 1CF30-1CF46 " +
  "1E000-1E006 1E008-1E018 1E01B-1E021 1E023-1E024 1E026-1E02A 1E08F 1E130-1E136 1E2AE 1E2EC-1E2EF " +
  "1E4EC-1E4EF 1E5EE-1E5EF 1E6E3 1E6E6 1E6EE-1E6EF 1E6F5 1E944-1E94A";

/** Mn in Unicode 8, Mc now (TAGALOG SIGN PAMUDPOD, AHOM SIGN KILLER): the reference strips them. */
const MN_ONLY_IN_REFERENCE = "1734 1171E";

/** P* now, not P* in Unicode 8 (mostly unassigned then): not punctuation to the reference. */
const P_NOT_IN_REFERENCE =
  "061D 09FD 0A76 0C77 0C84 1B4E-1B4F 1B7D-1B7F 2E43-2E4F 2E52-2E5D 10D6E 10EAD 10ED0 10F55-10F59 " +
  "10F86-10F89 113D4-113D5 113D7-113D8 1144B-1144F 1145A-1145B 1145D 11660-1166C 116B9 1183B " +
  "11944-11946 119E2 11A3F-11A46 11A9A-11A9C 11A9E-11AA2 11B00-11B09 11BE1 11C41-11C45 11C70-11C71 " +
  "11EF7-11EF8 11F43-11F4F 11FFF 12FF1-12FF2 16D6D-16D6F 16E97-16E9A 16FE2 1E5FF 1E95E-1E95F";

/** Po in Unicode 8, no longer P* (CANADIAN SYLLABICS CHI SIGN → So, SHARADA SANDHI MARK → Mn). */
const P_ONLY_IN_REFERENCE = "166D 111C9";

/**
 * Characters the reference's normalisation table (Unicode 9 era) does not know but NFD here acts on:
 * newer canonical decompositions, and marks with a non-zero combining class that it treats as
 * starters (class 0, so no canonical reordering across them). NFD must leave them alone.
 */
const NFD_OPAQUE_LIST =
  "07FD 0897-089F 08CA-08D3 09FE 0C3C 0D3B-0D3C 0EBA 1715 1ABF-1ADD 1AE0-1AEB 1DF6-1DFA A82C 105C9 " +
  "105E4 10D24-10D27 10D69-10D6D 10EAB-10EAC 10EFA-10EFB 10EFD-10EFF 10F46-10F50 10F82-10F85 11070 " +
  "1133B 11383 11385 1138E 11391 113C5 113C7-113C8 113CE-113D0 1145E 11839-1183A 11938 1193D-1193E " +
  "11943 119E0 11A34 11A47 11A99 11D42 11D44-11D45 11D97 11F41-11F42 16121-16128 1612F 16D68-16D6A " +
  "16FF0-16FF1 1E08F 1E130-1E136 1E2AE 1E2EC-1E2EF 1E4EC-1E4EF 1E5EE-1E5EF 1E6E3 1E6E6 1E6EE-1E6EF " +
  "1E6F5";

/**
 * CJK ideograph blocks that get spaces around them (`is_chinese_char`). The reference's list has
 * 0x2B920-0x2CEAF where BERT's original Python has 0x2B820-0x2CEAF; the reference is followed.
 */
export const CJK_CLASS =
  "\\u{4E00}-\\u{9FFF}\\u{3400}-\\u{4DBF}\\u{20000}-\\u{2A6DF}\\u{2A700}-\\u{2B73F}\\u{2B740}-\\u{2B81F}" +
  "\\u{2B920}-\\u{2CEAF}\\u{F900}-\\u{FAFF}\\u{2F800}-\\u{2FA1F}";

/** ASCII punctuation (`char::is_ascii_punctuation`): 33-47, 58-64, 91-96, 123-126, incl. $+<=>^`|~. */
const ASCII_PUNCT = "\\x21-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7E";

/**
 * Class (v-flag syntax) of what clean_text removes before anything else: U+0000, U+FFFD, and
 * Cc/Cf/Co as the reference knows them except tab, LF and CR (whitespace). Lone surrogates (\p{Cs})
 * cannot occur in the reference's Rust strings; they are removed as if they were U+FFFD.
 */
export const REMOVED_CLASS = `[[\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}\\uFFFD]--[\\t\\n\\r${classBody(FORMAT_NOT_IN_REFERENCE)}]]`;

/** Class (v-flag syntax) of the non-spacing marks that strip_accents removes after NFD. */
export const STRIPPED_MARK_CLASS = `[[\\p{Mn}--[${classBody(MN_NOT_IN_REFERENCE)}]]${classBody(MN_ONLY_IN_REFERENCE)}]`;

/** Class (v-flag syntax) of the characters BertPreTokenizer isolates as one-character words. */
export const PUNCT_CLASS = `[[\\p{P}--[${classBody(P_NOT_IN_REFERENCE)}]]${ASCII_PUNCT}${classBody(P_ONLY_IN_REFERENCE)}]`;

/** Class body of {@link NFD_OPAQUE_LIST}. */
export const NFD_OPAQUE_CLASS = `[${classBody(NFD_OPAQUE_LIST)}]`;
