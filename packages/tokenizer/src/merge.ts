import type { PairTable } from "./pair-table.js";

/**
 * The merge rules of a BPE model: `ranks.get(a, b)` is the priority of merging symbol `a` followed by
 * `b` (lower merges first; absent = never), and `results[rank]` is the id of the merged symbol.
 */
export interface MergeRules {
  ranks: PairTable;
  results: Int32Array;
}

/** Words up to this many bytes use the quadratic scan; longer ones the heap (n log n). */
export const HEAP_THRESHOLD = 48;

/**
 * Applies BPE to one word given as initial symbol ids (one per byte), exactly like GPT-2's `bpe()`:
 * repeatedly pick the adjacent pair with the lowest merge rank and merge all its occurrences left to
 * right, until no adjacent pair has a rank. Appends the resulting ids to `out`. `symbols` is used as
 * scratch space and overwritten.
 */
export function applyMerges(symbols: number[], rules: MergeRules, out: number[]): void {
  if (symbols.length < HEAP_THRESHOLD) mergeByScan(symbols, rules, out);
  else mergeByHeap(symbols, rules, out);
}

/** O(n^2) but allocation-free and fastest for the short words that dominate real text. */
export function mergeByScan(symbols: number[], rules: MergeRules, out: number[]): void {
  const { ranks, results } = rules;
  const sym = symbols;
  let n = sym.length;
  while (n > 1) {
    let best = -1;
    let bestA = 0;
    let bestB = 0;
    for (let i = 0; i + 1 < n; i++) {
      const r = ranks.get(sym[i]!, sym[i + 1]!);
      if (r >= 0 && (best < 0 || r < best)) {
        best = r;
        bestA = sym[i]!;
        bestB = sym[i + 1]!;
      }
    }
    if (best < 0) break;
    const merged = results[best]!;
    let w = 0;
    for (let i = 0; i < n; ) {
      if (i + 1 < n && sym[i] === bestA && sym[i + 1] === bestB) {
        sym[w++] = merged;
        i += 2;
      } else {
        sym[w++] = sym[i++]!;
      }
    }
    n = w;
  }
  for (let i = 0; i < n; i++) out.push(sym[i]!);
}

// Heap entries pack (rank, position) into one double: rank * 2^32 + position. Ranks < 2^21 and
// positions < 2^32 keep this exact, and ordering by the packed value is ordering by rank, then
// leftmost position — which reproduces GPT-2's "merge all occurrences left to right" pass.
const POS_SPAN = 0x100000000;

/**
 * Same result as {@link mergeByScan} in O(n log n): symbols form a linked list, candidate pairs sit in
 * a min-heap keyed by (rank, position), and stale candidates are discarded when popped.
 */
export function mergeByHeap(symbols: number[], rules: MergeRules, out: number[]): void {
  const { ranks, results } = rules;
  const n = symbols.length;
  const sym = Int32Array.from(symbols);
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  const heap = new MinHeap(n);
  for (let i = 0; i + 1 < n; i++) {
    const r = ranks.get(sym[i]!, sym[i + 1]!);
    if (r >= 0) heap.push(r * POS_SPAN + i);
  }
  while (heap.size > 0) {
    const key = heap.pop();
    const r = Math.floor(key / POS_SPAN);
    const i = key - r * POS_SPAN;
    if (sym[i]! < 0) continue;
    const j = next[i]!;
    if (j < 0 || ranks.get(sym[i]!, sym[j]!) !== r) continue;
    sym[i] = results[r]!;
    sym[j] = -1;
    const k = next[j]!;
    next[i] = k;
    if (k >= 0) prev[k] = i;
    const p = prev[i]!;
    if (p >= 0) {
      const rp = ranks.get(sym[p]!, sym[i]!);
      if (rp >= 0) heap.push(rp * POS_SPAN + p);
    }
    if (k >= 0) {
      const rk = ranks.get(sym[i]!, sym[k]!);
      if (rk >= 0) heap.push(rk * POS_SPAN + i);
    }
  }
  for (let i = 0; i >= 0; i = next[i]!) out.push(sym[i]!);
}

/** Binary min-heap of doubles. */
export class MinHeap {
  private data: Float64Array;
  size = 0;

  constructor(capacity = 16) {
    this.data = new Float64Array(Math.max(16, capacity));
  }

  push(v: number): void {
    if (this.size === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    const d = this.data;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (d[parent]! <= v) break;
      d[i] = d[parent]!;
      i = parent;
    }
    d[i] = v;
  }

  /** Removes and returns the smallest value; the heap must be non-empty. */
  pop(): number {
    const d = this.data;
    const top = d[0]!;
    const last = d[--this.size]!;
    const n = this.size;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && d[r]! < d[l]! ? r : l;
      if (d[c]! >= last) break;
      d[i] = d[c]!;
      i = c;
    }
    if (n > 0) d[i] = last;
    return top;
  }

  peek(): number {
    return this.data[0]!;
  }
}
