import assert from "node:assert/strict";
import { test } from "node:test";
import { runSummaryTable } from "./summary.js";

test("the text summary is a short aligned table, not JSON", () => {
  const t = runSummaryTable({
    rounds: 5,
    plannedRounds: 5,
    stopReason: "completed",
    scheme: "side",
    privacyUnit: "example",
    epsilon: 7.99,
    epsilonBudget: 8,
    delta: 1e-5,
    sampleEpsilon: 7.99,
    userEpsilon: null,
    testAccuracy: 0.929,
    federatedAccuracy: null,
    federatedEvaluation: null,
    clients: 3,
    bytesSent: 3 * 2 ** 20,
    wallSeconds: 607.2,
  });
  assert.deepEqual(t.split("\n"), [
    "rounds         5 of 5 (completed)",
    "scheme         side",
    "privacy        example-level ε 7.990 of 8, δ 0.00001",
    "test accuracy  92.9 %",
    "nodes          3",
    "traffic        3.0 MiB",
    "wall time      607.2 s",
  ]);
  assert.throws(() => JSON.parse(t));
});
