/** One conformance suite, run against every accountant. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  accountantFromJSON,
  BudgetExhaustedError,
  PldAccountant,
  type PrivacyAccountant,
  RdpAccountant,
} from "./accountant.js";

const factories: Record<string, () => PrivacyAccountant> = {
  rdp: () => new RdpAccountant(),
  pld: () => new PldAccountant({ maxGridSize: 2 ** 16 }),
};

const A = { noiseMultiplier: 1.1, sampleRate: 0.01, steps: 100 };
const B = { noiseMultiplier: 0.8, sampleRate: 0.02, steps: 40 };

for (const [kind, make] of Object.entries(factories)) {
  describe(`accountant conformance: ${kind}`, () => {
    it("starts at ε = 0 and reports its kind", () => {
      const a = make();
      assert.equal(a.kind, kind);
      assert.equal(a.getEpsilon(1e-5), 0);
      assert.equal(a.totalSteps, 0);
    });

    it("merges consecutive equal events only", () => {
      const a = make()
        .step({ ...A, steps: 2 })
        .step({ ...A, steps: 3 })
        .step(B)
        .step({ ...A, steps: undefined });
      assert.deepEqual(a.history, [{ ...A, steps: 5 }, B, { ...A, steps: 1 }]);
      assert.equal(a.totalSteps, 5 + 40 + 1);
    });

    it("ε grows with steps and shrinks with noise", () => {
      const e1 = make().step(A).getEpsilon(1e-5);
      const e2 = make()
        .step({ ...A, steps: 400 })
        .getEpsilon(1e-5);
      const e3 = make()
        .step({ ...A, noiseMultiplier: 2 })
        .getEpsilon(1e-5);
      assert.ok(e1 > 0 && e2 > e1 && e3 < e1, `${e1} ${e2} ${e3}`);
    });

    it("heterogeneous composition does not depend on event order", () => {
      const x = make().step(A).step(B).getEpsilon(1e-6);
      const y = make().step(B).step(A).getEpsilon(1e-6);
      assert.ok(Math.abs(x - y) < 1e-9 * x + 1e-12, `${x} vs ${y}`);
      assert.ok(x > make().step(A).getEpsilon(1e-6));
    });

    it("getDelta is consistent with getEpsilon", () => {
      const a = make().step(A).step(B);
      const eps = a.getEpsilon(1e-5);
      const d = a.getDelta(eps);
      assert.ok(d <= 1e-5 * (1 + 1e-6), `δ(ε(δ)) = ${d}`);
      assert.ok(a.getDelta(eps * 0.8) > 1e-5);
    });

    it("serialises and deserialises exactly", () => {
      const a = make()
        .step(A)
        .step(B)
        .step({ ...A, steps: 7 });
      const text = JSON.stringify(a.toJSON());
      const b = accountantFromJSON(JSON.parse(text));
      assert.equal(b.kind, kind);
      assert.deepEqual(b.history, a.history);
      assert.equal(Object.is(b.getEpsilon(1e-5), a.getEpsilon(1e-5)), true);
      assert.equal(Object.is(b.getDelta(1.5), a.getDelta(1.5)), true);
      assert.equal(JSON.stringify(b.toJSON()), text);
    });

    it("canSpend / spend respect the budget and throw a typed error", () => {
      const a = make().step(A);
      const eps = a.clone().step(B).getEpsilon(1e-5);
      assert.equal(a.canSpend(B, { epsilon: eps * 1.01, delta: 1e-5 }), true);
      assert.equal(a.canSpend(B, { epsilon: eps * 0.99, delta: 1e-5 }), false);
      assert.deepEqual(a.history, [A], "canSpend must not change the history");
      assert.throws(
        () => a.spend(B, { epsilon: eps * 0.99, delta: 1e-5 }),
        (err: unknown) =>
          err instanceof BudgetExhaustedError &&
          err.code === "E_BUDGET_EXHAUSTED" &&
          err.epsilonAfter > eps * 0.99,
      );
      assert.deepEqual(a.history, [A], "a refused spend must not step");
      a.stepWithinBudget(B, { epsilon: eps * 1.01, delta: 1e-5 });
      assert.deepEqual(a.history, [A, B]);
    });

    it("rejects invalid events and δ", () => {
      const a = make();
      assert.throws(() => a.step({ ...A, steps: 0 }), RangeError);
      assert.throws(() => a.step({ ...A, steps: 1.5 }), RangeError);
      assert.throws(() => a.step({ ...A, sampleRate: 1.5 }), RangeError);
      assert.throws(() => a.step({ ...A, noiseMultiplier: -1 }), RangeError);
      assert.throws(() => a.getEpsilon(0), RangeError);
      assert.throws(() => a.getEpsilon(1), RangeError);
      assert.equal(a.totalSteps, 0);
    });

    it("σ = 0 with q > 0 means no privacy; q = 0 means no cost", () => {
      assert.equal(
        make().step({ noiseMultiplier: 0, sampleRate: 0.1 }).getEpsilon(1e-5),
        Number.POSITIVE_INFINITY,
      );
      assert.equal(make().step({ noiseMultiplier: 1, sampleRate: 0, steps: 1000 }).getEpsilon(1e-5), 0);
    });
  });
}

describe("accountant specifics", () => {
  it("RDP accountant reports the optimal order and keeps its orders through JSON", () => {
    const a = new RdpAccountant({ orders: [2, 4, 8, 16, 32] }).step(A);
    const s = a.getPrivacySpent(1e-5);
    assert.ok([2, 4, 8, 16, 32].includes(s.order!));
    const b = accountantFromJSON(JSON.stringify(a.toJSON())) as RdpAccountant;
    assert.deepEqual(b.orders, [2, 4, 8, 16, 32]);
  });

  it("PLD accountant states its grid and error bound", () => {
    const s = new PldAccountant({ maxGridSize: 2 ** 16 }).step(A).getPrivacySpent(1e-5);
    assert.ok(s.discretizationInterval! > 0);
    assert.ok(Math.abs(s.epsilonErrorBound! - s.discretizationInterval! * A.steps) < 1e-15);
    assert.ok(s.truncatedMass! < 1e-15);
  });

  it("rejects unknown serialised states", () => {
    assert.throws(() => accountantFromJSON({ kind: "gdp", version: 1 } as never), TypeError);
    assert.throws(() => accountantFromJSON({ kind: "rdp", version: 2 } as never), TypeError);
  });
});
