/** End-to-end tests of `memarc accountant`: the real binary, its JSON contract and its flag checks. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runMemarc } from "./cli-run.js";

const DP_ACCOUNTING_ORDERS = [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5]
  .concat(Array.from({ length: 59 }, (_, i) => 5 + i))
  .concat([128, 256, 512])
  .join(",");

const BASE = ["accountant", "--sample-rate", "0.0025", "--steps", "6000", "--delta", "1e-5"];

interface EpsResult {
  epsilon: number;
  delta: number;
  accountant: string;
  order?: number;
  noiseMultiplier: number;
  sampleRate: number;
  steps: number;
  discretizationInterval?: number;
  epsilonErrorBound?: number;
}

async function epsilon(args: string[]): Promise<EpsResult> {
  const r = await runMemarc([...args, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return r.json as EpsResult;
}

describe("memarc accountant", () => {
  it("RDP ε matches the dp_accounting golden value (q=0.0025, σ=1.3, 6000 steps, δ=1e-5)", async () => {
    const j = await epsilon([...BASE, "--noise-multiplier", "1.3", "--orders", DP_ACCOUNTING_ORDERS]);
    assert.ok(Math.abs(j.epsilon - 0.7242234026109595) < 5e-8, `${j.epsilon}`);
    assert.equal(j.order, 19);
    assert.equal(j.accountant, "rdp");
    assert.equal(j.delta, 1e-5);
    assert.equal(j.noiseMultiplier, 1.3);
    assert.equal(j.sampleRate, 0.0025);
    assert.equal(j.steps, 6000);
  });

  it("default orders are at least as tight, and PLD is tighter still", async () => {
    const rdp = await epsilon([...BASE, "--noise-multiplier", "1.3"]);
    assert.ok(rdp.epsilon <= 0.7242234026109595 + 1e-12 && rdp.epsilon > 0.7);
    const pld = await epsilon([...BASE, "--noise-multiplier", "1.3", "--accountant", "pld"]);
    assert.equal(pld.accountant, "pld");
    assert.equal(pld.order, undefined);
    assert.ok(pld.epsilon < rdp.epsilon, `${pld.epsilon} vs ${rdp.epsilon}`);
    assert.ok(pld.epsilonErrorBound! > 0 && pld.epsilonErrorBound! < 0.05);
    assert.ok(pld.discretizationInterval! > 0);
  });

  it("PLD reproduces the analytic Gaussian mechanism (σ=√3, 3 steps: δ(1) = 0.126936)", async () => {
    const j = await epsilon([
      "accountant",
      "--noise-multiplier",
      String(Math.sqrt(3)),
      "--sample-rate",
      "1",
      "--steps",
      "3",
      "--delta",
      "0.126936",
      "--accountant",
      "pld",
    ]);
    assert.ok(j.epsilon >= 1 - 1e-4 && j.epsilon <= 1 + j.epsilonErrorBound! + 1e-4, `${j.epsilon}`);
  });

  for (const kind of ["rdp", "pld"]) {
    it(`calibrates the noise multiplier for a target ε (${kind})`, async () => {
      const args = [
        "accountant",
        "--sample-rate",
        "0.02",
        "--steps",
        "200",
        "--delta",
        "1e-5",
        "--accountant",
        kind,
        // A fixed PLD grid keeps the ~12 ε evaluations of the bisection fast.
        ...(kind === "pld" ? ["--discretization-interval", "2e-4"] : []),
      ];
      const r = await runMemarc([...args, "--target-epsilon", "1.5", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const cal = r.json as { noiseMultiplier: number; epsilon: number; accountant: string };
      assert.equal(cal.accountant, kind);
      assert.ok(cal.epsilon <= 1.5);
      const at = await epsilon([...args, "--noise-multiplier", String(cal.noiseMultiplier)]);
      assert.equal(at.epsilon, cal.epsilon);
      const below = await epsilon([...args, "--noise-multiplier", String(cal.noiseMultiplier * (1 - 2e-3))]);
      assert.ok(below.epsilon > 1.5, `σ·(1−2e-3) still meets the target: ${below.epsilon}`);
    });
  }

  it("prints a human summary without --json", async () => {
    const r = await runMemarc([...BASE, "--noise-multiplier", "1.3"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ε = 0\.72\d+ at δ = 0\.00001/);
    assert.match(r.stdout, /optimal order/);
  });

  const bad: [string[], RegExp][] = [
    [
      ["--noise-multiplier", "0", "--sample-rate", "0.01", "--steps", "10", "--delta", "1e-5"],
      /--noise-multiplier/,
    ],
    [
      ["--noise-multiplier", "-1", "--sample-rate", "0.01", "--steps", "10", "--delta", "1e-5"],
      /--noise-multiplier/,
    ],
    [
      ["--noise-multiplier", "1", "--sample-rate", "1.5", "--steps", "10", "--delta", "1e-5"],
      /--sample-rate/,
    ],
    [
      ["--noise-multiplier", "1", "--sample-rate", "-0.1", "--steps", "10", "--delta", "1e-5"],
      /--sample-rate/,
    ],
    [["--noise-multiplier", "1", "--sample-rate", "0.01", "--steps", "10", "--delta", "0"], /--delta/],
    [["--noise-multiplier", "1", "--sample-rate", "0.01", "--steps", "10", "--delta", "1"], /--delta/],
    [["--noise-multiplier", "1", "--sample-rate", "0.01", "--steps", "1.5", "--delta", "1e-5"], /--steps/],
    [["--noise-multiplier", "1", "--sample-rate", "0.01", "--steps", "0", "--delta", "1e-5"], /--steps/],
    [
      [
        "--noise-multiplier",
        "1",
        "--sample-rate",
        "0.01",
        "--steps",
        "10",
        "--delta",
        "1e-5",
        "--accountant",
        "gdp",
      ],
      /--accountant/,
    ],
    [["--noise-multiplier", "1", "--sample-rate", "0.01", "--delta", "1e-5"], /--steps/],
    [["--noise-multiplier", "1", "--steps", "10", "--delta", "1e-5"], /--sample-rate/],
    [["--noise-multiplier", "1", "--sample-rate", "0.01", "--steps", "10"], /--delta/],
    [["--sample-rate", "0.01", "--steps", "10", "--delta", "1e-5"], /--noise-multiplier/],
    [
      ["--noise-multiplier", "abc", "--sample-rate", "0.01", "--steps", "10", "--delta", "1e-5"],
      /--noise-multiplier/,
    ],
    [
      [
        "--noise-multiplier",
        "1",
        "--target-epsilon",
        "1",
        "--sample-rate",
        "0.01",
        "--steps",
        "10",
        "--delta",
        "1e-5",
      ],
      /--noise-multiplier and --target-epsilon/,
    ],
    [
      ["--target-epsilon", "0", "--sample-rate", "0.01", "--steps", "10", "--delta", "1e-5"],
      /--target-epsilon/,
    ],
    [
      [
        "--noise-multiplier",
        "1",
        "--sample-rate",
        "0.01",
        "--steps",
        "10",
        "--delta",
        "1e-5",
        "--orders",
        "2,1",
      ],
      /--orders/,
    ],
    [
      ["--noise-multiplier", "1", "--sample-rate", "0.01", "--steps", "10", "--delta", "1e-5", "--bogus"],
      /--bogus/,
    ],
  ];
  it("rejects bad flags with exit code 2 and a message naming the flag", async () => {
    const results = await Promise.all(bad.map(([args]) => runMemarc(["accountant", ...args, "--json"])));
    for (const [i, [args, flag]] of bad.entries()) {
      const r = results[i]!;
      assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}\n${r.stdout}`);
      assert.match(r.stderr, flag, args.join(" "));
      assert.equal((r.json as { error: { code: string } }).error.code, "E_USAGE");
    }
  });

  it("is listed in the command help", async () => {
    const r = await runMemarc(["--help"]);
    assert.match(r.stdout, /accountant/);
    const b = await runMemarc(["bench", "--help"]);
    assert.match(b.stdout, /accountant/);
  });
});
