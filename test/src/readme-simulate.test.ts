/**
 * The README's quick federated run, as written: `npx memarc simulate --scheme logreg --json` reaches
 * the accuracy the README states beside it, within its budget.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { runMemarc } from "./cli-run.js";
import { RUN_MARGIN, readmeAccuracy, readmeCommand } from "./readme.js";

it("README: simulate --scheme logreg reaches the stated accuracy at ε ≤ 8", {
  timeout: 180_000,
}, async () => {
  const args = readmeCommand("simulate", ["--scheme logreg"]);
  const r = await runMemarc(args.includes("--json") ? args : [...args, "--json"], {}, 170_000);
  assert.equal(r.code, 0, r.stderr);
  const j = r.json as { testAccuracy: number; epsilon: number; scheme: string };
  assert.equal(j.scheme, "logreg");
  assert.ok(j.epsilon <= 8);
  const stated = readmeAccuracy("npx memarc simulate --scheme logreg --json");
  assert.ok(
    j.testAccuracy >= stated.low - RUN_MARGIN && j.testAccuracy <= stated.high + RUN_MARGIN,
    `README: ${stated.mean} (${stated.low}–${stated.high}); this run: ${j.testAccuracy}`,
  );
});
