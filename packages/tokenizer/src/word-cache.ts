/**
 * Bounded cache from a pre-token (word) to its BPE ids.
 *
 * Two generations instead of a true LRU: look-ups hit `young` then `old`; when `young` fills up it
 * becomes `old` and the previous `old` is dropped. Frequent words survive by being promoted on use,
 * memory stays below 2 x capacity entries, and a hit costs one Map look-up (no re-ordering).
 */
export class WordCache {
  private young = new Map<string, readonly number[]>();
  private old = new Map<string, readonly number[]>();

  constructor(readonly capacity: number) {}

  get(word: string): readonly number[] | undefined {
    const hit = this.young.get(word);
    if (hit !== undefined) return hit;
    const aged = this.old.get(word);
    if (aged !== undefined) this.set(word, aged);
    return aged;
  }

  set(word: string, ids: readonly number[]): void {
    if (this.capacity <= 0) return;
    if (this.young.size >= this.capacity) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(word, ids);
  }

  /** Entries currently held (at most 2 x capacity). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}
