/**
 * Hyper-parameter tuning must never look at the test split: `holdoutSplit` carves a stratified,
 * seeded validation part out of the TRAIN split (a non-private choice, so a seeded generator is fine).
 */
import { stratifiedSplit } from "@memarc/data";
import type { LabelledTexts } from "./runner.js";

export function holdoutSplit(
  train: LabelledTexts,
  fraction: number,
  seed = 7,
): { train: LabelledTexts; holdout: LabelledTexts } {
  if (!(fraction > 0 && fraction < 1))
    throw new RangeError(`holdout fraction must be in (0, 1), got ${fraction}`);
  const s = stratifiedSplit(train.labels, { seed, testFraction: fraction });
  const pick = (idx: Int32Array): LabelledTexts => ({
    texts: Array.from(idx, (i) => train.texts[i]!),
    labels: Int32Array.from(idx, (i) => train.labels[i]!),
  });
  return { train: pick(s.train), holdout: pick(s.test) };
}

/** The first `n` examples of a seeded shuffle (for quick runs and tests; not privacy-relevant). */
export function subsample(d: LabelledTexts, n: number, seed = 11): LabelledTexts {
  if (n >= d.labels.length) return d;
  const s = stratifiedSplit(d.labels, { seed, testFraction: 1 - n / d.labels.length });
  return {
    texts: Array.from(s.train, (i) => d.texts[i]!),
    labels: Int32Array.from(s.train, (i) => d.labels[i]!),
  };
}
