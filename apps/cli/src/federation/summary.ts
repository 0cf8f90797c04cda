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

/** The run's summary for a person: a short two-column table, not the JSON a script reads. */
export function runSummaryTable(j: ReturnType<typeof runSummaryJson> & Record<string, unknown>): string {
  const num = (x: unknown, d: number) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(d) : "—");
  const pct = (x: unknown) => (typeof x === "number" ? `${(x * 100).toFixed(1)} %` : "—");
  const rows: [string, string][] = [
    ["rounds", `${j.rounds} of ${j.plannedRounds} (${j.stopReason})`],
    ["scheme", String(j.scheme)],
    ["privacy", `${j.privacyUnit}-level ε ${num(j.epsilon, 3)} of ${j.epsilonBudget}, δ ${j.delta}`],
    ["test accuracy", pct(j.testAccuracy)],
  ];
  if (j.federatedAccuracy !== null) rows.push(["federated accuracy (private)", pct(j.federatedAccuracy)]);
  if (typeof j.clients === "number") rows.push(["nodes", String(j.clients)]);
  if (typeof j.bytesSent === "number") rows.push(["traffic", `${(j.bytesSent / 2 ** 20).toFixed(1)} MiB`]);
  if (typeof j.wallSeconds === "number") rows.push(["wall time", `${j.wallSeconds.toFixed(1)} s`]);
  if (typeof j.modelOut === "string") rows.push(["model", j.modelOut]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n");
}
