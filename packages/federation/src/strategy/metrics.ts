import type { EvaluateResult } from "./types.js";

/**
 * Federated evaluation from the nodes' noised sums — post-processing only, so the result is as
 * private as the sums: accuracy = Σcorrect/Σcount, loss = Σloss/Σcount (losses clipped to the
 * mechanism's bound, so the loss is a clipped mean). The noised count is reported as `evalExamples`.
 */
export function evaluateSummary(results: EvaluateResult[]): Record<string, number> {
  const count = results.reduce((s, r) => s + r.count, 0);
  const correct = results.reduce((s, r) => s + r.correct, 0);
  const loss = results.reduce((s, r) => s + r.lossSum, 0);
  const out: Record<string, number> = { evalNodes: results.length, evalExamples: count };
  if (count > 0) {
    out.accuracy = Math.min(1, Math.max(0, correct / count));
    out.loss = Math.max(0, loss / count);
  }
  return out;
}
