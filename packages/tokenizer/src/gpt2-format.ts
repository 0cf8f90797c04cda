import { TokenizerError } from "./errors.js";

/**
 * Reading and writing GPT-2's on-disk format: `vocab.json` (a.k.a. encoder.json, token -> id) and
 * `merges.txt` (a.k.a. vocab.bpe, one "left right" merge per line in rank order after a
 * `#version: 0.2` header). Writing reproduces OpenAI's files byte for byte.
 */

export const MERGES_HEADER = "#version: 0.2";

/** Parses vocab.json text into token -> id. */
export function parseVocabJson(text: string, source = "vocab.json"): Record<string, number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TokenizerError(
      "E_TOKENIZER_BAD_VOCAB",
      `${source}: not valid JSON (${(err as Error).message})`,
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new TokenizerError("E_TOKENIZER_BAD_VOCAB", `${source}: expected a JSON object of token -> id`);
  }
  return parsed as Record<string, number>;
}

/** Parses merges.txt text into [left, right] pairs in rank order. */
export function parseMergesTxt(text: string, source = "merges.txt"): Array<[string, string]> {
  const lines = text.split(/\r?\n/);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    // Only the first line may be the version header; tokens never contain spaces (space is "Ġ").
    if (line === "" || (i === 0 && line.startsWith("#version"))) continue;
    const parts = line.split(" ");
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
      throw new TokenizerError(
        "E_TOKENIZER_BAD_MERGES",
        `${source}:${i + 1}: expected "left right" (two tokens separated by one space), got ${JSON.stringify(line)}`,
      );
    }
    out.push([parts[0]!, parts[1]!]);
  }
  return out;
}

/** merges.txt text: the header line, then one merge per line, newline-terminated. */
export function serializeMergesTxt(merges: ReadonlyArray<readonly [string, string]>): string {
  let s = MERGES_HEADER + "\n";
  for (const [a, b] of merges) s += a + " " + b + "\n";
  return s;
}

/**
 * vocab.json text in Python's `json.dumps(encoder)` style, as OpenAI wrote it: one line, ", " and ": "
 * separators, non-ASCII escaped as \uXXXX (ensure_ascii), entries in id order.
 */
export function serializeVocabJson(tokensById: readonly string[]): string {
  const parts = new Array<string>(tokensById.length);
  for (let id = 0; id < tokensById.length; id++) parts[id] = pythonJsonString(tokensById[id]!) + ": " + id;
  return "{" + parts.join(", ") + "}";
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** Python's `json.dumps(str)` with ensure_ascii=True: everything outside ' '..'~' is escaped. */
export function pythonJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const c = s.charCodeAt(i);
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) out += short;
    else if (c >= 0x20 && c <= 0x7e) out += ch;
    // Per UTF-16 code unit, which is exactly Python's surrogate-pair escaping of astral characters.
    else out += "\\u" + c.toString(16).padStart(4, "0");
  }
  return out + '"';
}
