/**
 * GPT-2's pre-tokenisation: text is split into "words" by this regex before BPE, and merges never
 * cross word boundaries. Contractions, optional-space + letters, optional-space + digits,
 * optional-space + other symbols, and whitespace runs (a run followed by a non-space keeps its last
 * space for the next word, via `\s+(?!\S)`). The `u` flag makes `\p{..}` work and iterates by code point.
 */
export const GPT2_PATTERN_SOURCE =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const PATTERN = new RegExp(GPT2_PATTERN_SOURCE, "gu");

/** Split `text` into GPT-2 pre-tokens. Concatenating the result always gives back `text`. */
export function pretokenize(text: string): string[] {
  return text.match(PATTERN) ?? [];
}

/** A piece of text that is either ordinary text or one special token (already resolved to its id). */
export type Segment = { text: string } | { special: number };

/**
 * Split `text` around occurrences of the given special tokens (longest match first at a position).
 * Text between them is returned as ordinary segments; empty segments are dropped.
 */
export function splitSpecial(text: string, specials: ReadonlyMap<string, number>): Segment[] {
  if (specials.size === 0) return text.length ? [{ text }] : [];
  const names = [...specials.keys()].sort((a, b) => b.length - a.length);
  const re = new RegExp(names.map(escapeRegExp).join("|"), "g");
  const out: Segment[] = [];
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index > last) out.push({ text: text.slice(last, m.index) });
    out.push({ special: specials.get(m[0])! });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
