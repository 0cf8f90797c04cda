/** The final JSON of a federated run (coordinator and simulate share its shape). */
import type { RunSummary } from "@memarc/federation";
import type { RunPlan } from "./run-plan.js";

export function runSummaryJson(plan: RunPlan, s: RunSummary, extra: Record<string, unknown> = {}) {
  const m = s.metrics;
  return {
    rounds: s.completedRound,
    plannedRounds: plan.rounds,
    stopReason: s.stopReason,
    scheme: plan.scheme,
    privacyUnit: plan.privacyUnit,
    epsilon: plan.privacyUnit === "user" ? s.epsilon.user : s.epsilon.example,
    epsilonBudget: plan.epsilon,
    delta: plan.delta,
    sampleEpsilon: s.epsilon.example,
    userEpsilon: s.epsilon.user,
    testAccuracy: m.test_accuracy ?? null,
    // Nodes' held-out data, through a charged Gaussian mechanism (null when it was off).
    federatedAccuracy: m.federated_accuracy ?? null,
    federatedEvaluation: plan.federatedEvaluation
      ? { private: true, noiseMultiplier: plan.federatedEvaluation.noiseMultiplier }
      : null,
    ...extra,
  };
}
