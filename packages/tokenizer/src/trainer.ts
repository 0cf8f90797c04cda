import { BpeTokenizer, ENDOFTEXT } from "./bpe-tokenizer.js";
import { BYTE_TO_CHAR, GPT2_BYTE_ORDER } from "./byte-unicode.js";
import { TokenizerError } from "./errors.js";
import { PairTable } from "./pair-table.js";
import { GPT2_PATTERN_SOURCE } from "./pretokenize.js";

export interface TrainBpeOptions {
  /** Final vocabulary size including the 256 byte symbols and `<|endoftext|>` (so >= 257). */
  vocabSize: number;
  /** Stop early once the most frequent pair occurs fewer times than this. Default 2. */
  minFrequency?: number;
}

export interface TrainedBpe {
  /** token -> id: ids 0..255 are the bytes in GPT-2's order, then merges in order, then `<|endoftext|>`. */
  vocab: Record<string, number>;
  /** Learned merges in rank order. */
  merges: Array<[string, string]>;
  /** Pre-tokenised words seen (with repetition) and distinct. */
  words: number;
  uniqueWords: number;
}

/**
 * Learns byte-level BPE merges on GPT-2-pre-tokenised text and returns a ready tokenizer.
 *
 * Every string round-trips through the result because all 256 byte symbols are in the vocab, even bytes
 * never seen in training. Occurrences of "<|endoftext|>" in `texts` are treated as separators, not text.
 */
export function trainBpe(texts: Iterable<string>, options: TrainBpeOptions): BpeTokenizer {
  const { vocab, merges } = trainBpeMerges(texts, options);
  return BpeTokenizer.fromJSON(vocab, merges);
}

/**
 * The training algorithm, returning vocab + merges.
 *
 * Counts every distinct word once with its frequency, keeps a count for every adjacent symbol pair and,
 * per pair, the words containing it. Each step takes the most frequent pair (ties: smaller left id, then
 * smaller right id — deterministic), rewrites only the words that contain it, and adjusts the counts of
 * the pairs around each merge site instead of recounting. A max-heap with lazy invalidation finds the
 * next pair.
 */
export function trainBpeMerges(texts: Iterable<string>, options: TrainBpeOptions): TrainedBpe {
  const { vocabSize } = options;
  const minFrequency = options.minFrequency ?? 2;
  if (!Number.isInteger(vocabSize) || vocabSize < 257 || vocabSize > 1 << 21) {
    throw new TokenizerError(
      "E_TOKENIZER_BAD_OPTIONS",
      `trainBpe: vocabSize must be an integer in [257, ${1 << 21}] (256 bytes + <|endoftext|> + merges), got ${vocabSize}`,
    );
  }
  if (!(minFrequency >= 1)) {
    throw new TokenizerError(
      "E_TOKENIZER_BAD_OPTIONS",
      `trainBpe: minFrequency must be >= 1, got ${minFrequency}`,
    );
  }

  // 1. Distinct words with counts.
  const wordCounts = new Map<string, number>();
  let totalWords = 0;
  const re = new RegExp(GPT2_PATTERN_SOURCE, "gu");
  for (const text of texts) {
    for (const part of text.split(ENDOFTEXT)) {
      re.lastIndex = 0;
      for (let m = re.exec(part); m !== null; m = re.exec(part)) {
        wordCounts.set(m[0], (wordCounts.get(m[0]) ?? 0) + 1);
        totalWords++;
      }
    }
  }

  // 2. Symbols: id i < 256 is byte GPT2_BYTE_ORDER[i], matching GPT-2's own base ids.
  const byteToId = new Int32Array(256);
  GPT2_BYTE_ORDER.forEach((b, id) => {
    byteToId[b] = id;
  });
  const tokenStrings: string[] = GPT2_BYTE_ORDER.map((b) => BYTE_TO_CHAR[b]!);
  const tokenIds = new Map<string, number>(tokenStrings.map((t, i) => [t, i]));
  const encoder = new TextEncoder();
  const words: Int32Array[] = [];
  const counts: number[] = [];
  for (const [w, c] of wordCounts) {
    const bytes = encoder.encode(w);
    const syms = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) syms[i] = byteToId[bytes[i]!]!;
    words.push(syms);
    counts.push(c);
  }
  wordCounts.clear();

  // 3. Pair statistics. Pair p has symbols (pairA[p], pairB[p]), count pairCount[p], and pairWords[p]
  //    lists words that contain (or once contained) it, possibly repeated; stale entries are skipped.
  const index = new PairTable(1 << 16);
  const pairA: number[] = [];
  const pairB: number[] = [];
  const pairCount: number[] = [];
  const pairWords: number[][] = [];
  const pairOf = (a: number, b: number): number => {
    let p = index.get(a, b);
    if (p < 0) {
      p = pairA.length;
      index.set(a, b, p);
      pairA.push(a);
      pairB.push(b);
      pairCount.push(0);
      pairWords.push([]);
    }
    return p;
  };
  for (let w = 0; w < words.length; w++) {
    const s = words[w]!;
    const c = counts[w]!;
    for (let i = 0; i + 1 < s.length; i++) {
      const p = pairOf(s[i]!, s[i + 1]!);
      pairCount[p]! += c;
      const list = pairWords[p]!;
      if (list[list.length - 1] !== w) list.push(w);
    }
  }

  const heap = new PairHeap(pairA, pairB);
  for (let p = 0; p < pairA.length; p++) heap.push(p, pairCount[p]!);

  // 4. Merge loop.
  const merges: Array<[string, string]> = [];
  const wordStamp = new Int32Array(words.length);
  let touchedStamp = new Int32Array(Math.max(1024, pairA.length * 2));
  const target = vocabSize - 1; // the last id is <|endoftext|>
  let step = 0;
  while (tokenStrings.length < target && heap.size > 0) {
    const p = heap.topPair();
    const snapshot = heap.topCount();
    heap.pop();
    const current = pairCount[p]!;
    if (current !== snapshot) {
      // Counts only drop between pushes (every increase is pushed), so a stale entry is too high.
      if (current > 0 && current < snapshot) heap.push(p, current);
      continue;
    }
    if (current < minFrequency) break;
    step++;
    const a = pairA[p]!;
    const b = pairB[p]!;
    const merged = tokenStrings[a]! + tokenStrings[b]!;
    merges.push([tokenStrings[a]!, tokenStrings[b]!]);
    // Two different merge paths can spell the same bytes; they then share one id.
    let n = tokenIds.get(merged);
    if (n === undefined) {
      n = tokenStrings.length;
      tokenStrings.push(merged);
      tokenIds.set(merged, n);
    }

    const touched: number[] = [];
    const bump = (x: number, y: number, delta: number, w: number): void => {
      const q = pairOf(x, y);
      pairCount[q]! += delta;
      if (delta > 0) {
        pairWords[q]!.push(w);
        if (q >= touchedStamp.length) {
          const bigger = new Int32Array(Math.max(q + 1, touchedStamp.length * 2));
          bigger.set(touchedStamp);
          touchedStamp = bigger;
        }
        if (touchedStamp[q] !== step) {
          touchedStamp[q] = step;
          touched.push(q);
        }
      }
    };

    const occurrences = pairWords[p]!;
    pairWords[p] = [];
    for (const w of occurrences) {
      if (wordStamp[w] === step) continue;
      wordStamp[w] = step;
      const s = words[w]!;
      const c = counts[w]!;
      let found = false;
      for (let i = 0; i + 1 < s.length; i++) {
        if (s[i] === a && s[i + 1] === b) {
          found = true;
          break;
        }
      }
      if (!found) continue;
      const out: number[] = [];
      for (let i = 0; i < s.length; ) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          // Left neighbour: whatever is already in the new word (possibly the previous merge's n).
          if (out.length > 0) {
            const left = out[out.length - 1]!;
            bump(left, a, -c, w);
            bump(left, n, c, w);
          }
          // Right neighbour from the old word; if it starts another merge site, that site's left
          // handling above undoes this increment.
          if (i + 2 < s.length) {
            const right = s[i + 2]!;
            bump(b, right, -c, w);
            bump(n, right, c, w);
          }
          pairCount[p]! -= c;
          out.push(n);
          i += 2;
        } else {
          out.push(s[i++]!);
        }
      }
      words[w] = Int32Array.from(out);
    }
    for (const q of touched) if (pairCount[q]! > 0) heap.push(q, pairCount[q]!);
  }

  const vocab: Record<string, number> = {};
  tokenStrings.forEach((t, id) => {
    vocab[t] = id;
  });
  vocab[ENDOFTEXT] = tokenStrings.length;
  return { vocab, merges, words: totalWords, uniqueWords: words.length };
}

/**
 * Max-heap of (pair, count snapshot): larger count first, ties by smaller left id then smaller right id.
 */
class PairHeap {
  private pairs: number[] = [];
  private counts: number[] = [];

  constructor(
    private readonly left: readonly number[],
    private readonly right: readonly number[],
  ) {}

  get size(): number {
    return this.pairs.length;
  }

  topPair(): number {
    return this.pairs[0]!;
  }

  topCount(): number {
    return this.counts[0]!;
  }

  /** True if entry (p, c) should come out before (q, d). */
  private before(p: number, c: number, q: number, d: number): boolean {
    if (c !== d) return c > d;
    const lp = this.left[p]!;
    const lq = this.left[q]!;
    if (lp !== lq) return lp < lq;
    return this.right[p]! < this.right[q]!;
  }

  push(p: number, c: number): void {
    const { pairs, counts } = this;
    let i = pairs.length;
    pairs.push(p);
    counts.push(c);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(p, c, pairs[parent]!, counts[parent]!)) break;
      pairs[i] = pairs[parent]!;
      counts[i] = counts[parent]!;
      i = parent;
    }
    pairs[i] = p;
    counts[i] = c;
  }

  pop(): void {
    const { pairs, counts } = this;
    const p = pairs.pop()!;
    const c = counts.pop()!;
    const n = pairs.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const k = r < n && this.before(pairs[r]!, counts[r]!, pairs[l]!, counts[l]!) ? r : l;
      if (!this.before(pairs[k]!, counts[k]!, p, c)) break;
      pairs[i] = pairs[k]!;
      counts[i] = counts[k]!;
      i = k;
    }
    pairs[i] = p;
    counts[i] = c;
  }
}
