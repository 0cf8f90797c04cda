import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computeRdp, DEFAULT_ORDERS, DP_ACCOUNTING_ORDERS, rdpToDelta, rdpToEpsilon } from "./rdp.js";

function close(got: number, want: number, rtol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= rtol * Math.abs(want), `${what}: got ${got}, want ${want}`);
}

describe("RDP of the subsampled Gaussian (golden values from dp_accounting / Opacus)", () => {
  it("q=0.01, σ=2.5, 50 steps at integer, fractional and infinite orders", () => {
    const orders = [1.5, 2.5, 5, 50, 100, Number.POSITIVE_INFINITY];
    const want = [6.500709e-4, 1.0854181e-3, 2.18075656e-3, 2.38460375e-2, 167.416308];
    const got = computeRdp(0.01, 2.5, 50, orders);
    for (const [i, w] of want.entries()) close(got[i]!, w, 1e-4, `order ${orders[i]}`);
    assert.equal(got[5], Number.POSITIVE_INFINITY);
  });

  it("special cases q=1, q=0, σ=0", () => {
    close(computeRdp(1, 10, 1, [20])[0]!, 0.1, 1e-12, "q=1");
    assert.deepEqual(computeRdp(0, 1, 100, [1.5, 2, 32]), [0, 0, 0]);
    assert.equal(computeRdp(0.1, 0, 1, [2])[0], Number.POSITIVE_INFINITY);
  });

  it("fractional orders interpolate smoothly between integer neighbours", () => {
    // RDP is non-decreasing in α; the fractional series and the integer sum must agree on that.
    const orders = [2, 2.5, 3, 3.5, 4];
    const r = computeRdp(0.02, 0.9, 1, orders);
    for (let i = 1; i < r.length; i++) assert.ok(r[i]! > r[i - 1]!, `${orders[i]} ${r}`);
    // α·ε(α) style convexity: (α−1)·RDP(α) is convex in α (log-moment generating function).
    const g = orders.map((a, i) => (a - 1) * r[i]!);
    for (let i = 1; i + 1 < g.length; i++) assert.ok(g[i - 1]! + g[i + 1]! >= 2 * g[i]! - 1e-15);
  });

  it("fractional order just off an integer approaches the integer value", () => {
    const [a, b] = computeRdp(0.05, 1.1, 1, [3, 3 + 1e-7]);
    close(b!, a!, 1e-5, "α=3+1e-7 vs α=3");
  });

  it("ε for q=0.0025, σ=1.3, 6000 steps, δ=1e-5 is 0.7242234026109595 at order 19", () => {
    const r = computeRdp(0.0025, 1.3, 6000, DP_ACCOUNTING_ORDERS);
    const { epsilon, order } = rdpToEpsilon(DP_ACCOUNTING_ORDERS, r, 1e-5);
    assert.ok(Math.abs(epsilon - 0.7242234026109595) < 5e-8, `${epsilon}`);
    assert.equal(order, 19);
  });

  it("ε for q=0.001, σ=1, 30000 steps, δ=1e-7 is 1.4154988495444842 at order 13", () => {
    const r = computeRdp(0.001, 1.0, 30000, DP_ACCOUNTING_ORDERS);
    const { epsilon, order } = rdpToEpsilon(DP_ACCOUNTING_ORDERS, r, 1e-7);
    assert.ok(Math.abs(epsilon - 1.4154988495444842) < 5e-8, `${epsilon}`);
    assert.equal(order, 13);
  });

  it("constant RDP 1.1 at orders 2..32 with δ=1e-5 gives ε=1.32783806176 at order 32", () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const { epsilon, order } = rdpToEpsilon(
      orders,
      orders.map(() => 1.1),
      1e-5,
    );
    assert.ok(Math.abs(epsilon - 1.32783806176) < 1e-10, `${epsilon}`);
    assert.equal(order, 32);
  });

  it("conversion guards: skips orders ≤ 1 and infinite RDP, clamps at 0", () => {
    const c = rdpToEpsilon([0.5, 1, 2, 3], [0.1, 0.1, Number.POSITIVE_INFINITY, 0.5], 1e-5);
    assert.equal(c.order, 3);
    assert.equal(
      rdpToEpsilon([2, 4], [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY], 1e-5).epsilon,
      Infinity,
    );
    assert.equal(rdpToEpsilon([2], [1e-12], 0.1).epsilon, 0);
  });

  it("δ(ε) inverts ε(δ)", () => {
    const r = computeRdp(0.01, 1.1, 2000, DEFAULT_ORDERS);
    const { epsilon } = rdpToEpsilon(DEFAULT_ORDERS, r, 1e-6);
    const { delta } = rdpToDelta(DEFAULT_ORDERS, r, epsilon);
    close(delta, 1e-6, 1e-9, "δ(ε(δ))");
    assert.ok(rdpToDelta(DEFAULT_ORDERS, r, epsilon * 1.1).delta < 1e-6);
    assert.ok(rdpToDelta(DEFAULT_ORDERS, r, epsilon * 0.9).delta > 1e-6);
  });

  it("rejects invalid inputs", () => {
    assert.throws(() => computeRdp(1.5, 1, 1), RangeError);
    assert.throws(() => computeRdp(0.1, -1, 1), RangeError);
    assert.throws(() => computeRdp(0.1, 1, 1, [1]), RangeError);
    assert.throws(() => rdpToEpsilon([2], [1], 0), RangeError);
  });
});
