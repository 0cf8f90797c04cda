import { DataError } from "./errors.js";
import { createSeededRng, DEFAULT_SEED } from "./rng.js";

export interface DedupeResult<T> {
  /** First occurrence of every distinct text, in input order. */
  unique: T[];
  /** Items dropped because an earlier item had exactly the same text. */
  duplicates: number;
  /** Of those, items whose label differed from the kept copy's label. */
  conflictingLabels: number;
}

/**
 * Drop exact duplicate texts, keeping the first occurrence. Run this on the final model input
 * (after truncation) and before splitting: two copies of one text on both sides of a train/test
 * split would inflate test accuracy and, for DP, count one person's text twice.
 */
export function dedupeByText<T extends { text: string; label: number }>(
  items: readonly T[],
): DedupeResult<T> {
  const seen = new Map<string, T>();
  let duplicates = 0;
  let conflictingLabels = 0;
  for (const it of items) {
    const prev = seen.get(it.text);
    if (prev === undefined) seen.set(it.text, it);
    else {
      duplicates++;
      if (prev.label !== it.label) conflictingLabels++;
    }
  }
  return { unique: [...seen.values()], duplicates, conflictingLabels };
}

export interface SplitOptions {
  /** Fraction of each class that goes to test (default 0.2). */
  testFraction?: number;
  /** Seed of the non-private split generator (default DEFAULT_SEED = 42). */
  seed?: number | string;
}

export interface IndexSplit {
  /** Sorted ascending. */
  train: Int32Array;
  /** Sorted ascending. */
  test: Int32Array;
}

/**
 * Deterministic split stratified by label: in every class, round(count × testFraction) examples,
 * chosen by a seeded shuffle, go to test. Data splits are not privacy-relevant, hence the seeded
 * (non-cryptographic) generator.
 */
export function stratifiedSplit(labels: ArrayLike<number>, options: SplitOptions = {}): IndexSplit {
  const testFraction = options.testFraction ?? 0.2;
  if (!(testFraction >= 0 && testFraction <= 1)) {
    throw new DataError("E_DATA_BAD_OPTIONS", `testFraction must be in [0, 1], got ${testFraction}`);
  }
  const rng = createSeededRng(options.seed ?? DEFAULT_SEED);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    const list = byClass.get(l);
    if (list) list.push(i);
    else byClass.set(l, [i]);
  }
  const train: number[] = [];
  const test: number[] = [];
  for (const cls of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = rng.shuffle(byClass.get(cls)!);
    const nTest = Math.round(idx.length * testFraction);
    test.push(...idx.slice(0, nTest));
    train.push(...idx.slice(nTest));
  }
  return { train: Int32Array.from(train).sort(), test: Int32Array.from(test).sort() };
}
