import { DataError } from "./errors.js";
import { DEFAULT_SEED } from "./rng.js";
import { type DecodeStats, loadSpamAssassin, SPAM_ASSASSIN_CLASSES } from "./spam-assassin.js";
import { dedupeByText, stratifiedSplit } from "./split.js";
import { type Dataset, DEFAULT_MAX_CHARS, toDataset } from "./types.js";

export interface SplitDatasetOptions {
  /** Seed of the (non-private) split generator. Default DEFAULT_SEED = 42. */
  seed?: number | string;
  /** Model input length in characters. Default DEFAULT_MAX_CHARS = 1000. */
  maxChars?: number;
  /** Default 0.2. */
  testFraction?: number;
}

export interface SplitDataset {
  train: Dataset;
  test: Dataset;
  /** Exact duplicate texts removed before splitting. */
  duplicates: number;
  /** Of those, copies whose label disagreed with the kept one. */
  conflictingLabels: number;
  decodeStats?: DecodeStats;
}

/**
 * SpamAssassin as train/test Datasets: decoded and cleaned (cached per process), exact duplicate
 * texts removed, then split 80/20 stratified by label with a seeded generator.
 */
export function getSpamAssassin(options: SplitDatasetOptions = {}): SplitDataset {
  const { examples, stats } = loadSpamAssassin({ maxChars: options.maxChars ?? DEFAULT_MAX_CHARS });
  const { unique, duplicates, conflictingLabels } = dedupeByText(examples);
  const split = stratifiedSplit(
    unique.map((e) => e.label),
    { seed: options.seed ?? DEFAULT_SEED, testFraction: options.testFraction ?? 0.2 },
  );
  const pick = (idx: Int32Array) => Array.from(idx, (i) => unique[i]!);
  return {
    train: toDataset("spam-assassin/train", pick(split.train), SPAM_ASSASSIN_CLASSES),
    test: toDataset("spam-assassin/test", pick(split.test), SPAM_ASSASSIN_CLASSES),
    duplicates,
    conflictingLabels,
    decodeStats: stats,
  };
}

export interface DatasetEntry {
  name: string;
  description: string;
  classNames: string[];
  load(options?: SplitDatasetOptions): SplitDataset;
}

const REGISTRY: readonly DatasetEntry[] = [
  {
    name: "spam-assassin",
    description: "SpamAssassin public corpus: 6,046 e-mails (4,150 ham, 1,896 spam), decoded and cleaned",
    classNames: SPAM_ASSASSIN_CLASSES,
    load: getSpamAssassin,
  },
];

export function datasetNames(): string[] {
  return REGISTRY.map((d) => d.name);
}

/** Look up a built-in labelled dataset by name. */
export function datasetByName(name: string): DatasetEntry {
  const d = REGISTRY.find((x) => x.name === name);
  if (!d) {
    throw new DataError(
      "E_DATA_UNKNOWN_DATASET",
      `unknown dataset "${name}": known datasets are ${datasetNames().join(", ")} (a .jsonl/.csv file of your own goes where the command takes a file: \`--data FILE\`)`,
    );
  }
  return d;
}
