/**
 * "Did you mean" for misspelt flags, commands, config keys and choice values: the closest known
 * name by edit distance (fastest-levenshtein), offered only when it is close enough to be a typo.
 */
import { distance } from "fastest-levenshtein";

/** The closest candidate within a typo's distance (a third of the word, at least 1, at most 3). */
export function closest(word: string, candidates: readonly string[]): string | null {
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  // A prefix of a longer name ("--epoch" for "--epochs") is a typo however short the word is.
  const prefix = candidates.find((c) => c.startsWith(word) && word.length >= 3);
  if (bestDistance <= limit) return best;
  return prefix ?? null;
}

/** `; did you mean "x"?` or "" — ready to append to a message. */
export function didYouMean(
  word: string,
  candidates: readonly string[],
  render = (c: string) => `"${c}"`,
): string {
  const c = closest(word, candidates);
  return c === null ? "" : `; did you mean ${render(c)}?`;
}
