import type { EvaluateResult } from "./types.js";

/** Example-weighted mean of every metric the results report (loss, accuracy, ...). */
export function weightedMetricMean(results: { numExamples: number; metrics: Record<string, number> }[]) {
  const sums: Record<string, number> = {};
  const weights: Record<string, number> = {};
  for (const r of results) {
    for (const [k, v] of Object.entries(r.metrics)) {
      if (!Number.isFinite(v)) continue;
      sums[k] = (sums[k] ?? 0) + v * r.numExamples;
      weights[k] = (weights[k] ?? 0) + r.numExamples;
    }
  }
  const out: Record<string, number> = {};
  for (const k of Object.keys(sums)) if (weights[k]! > 0) out[k] = sums[k]! / weights[k]!;
  return out;
}

export function evaluateSummary(results: EvaluateResult[]): Record<string, number> {
  const out = weightedMetricMean(results);
  out.evalNodes = results.length;
  out.evalExamples = results.reduce((s, r) => s + r.numExamples, 0);
  return out;
}
