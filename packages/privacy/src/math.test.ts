import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { erf, erfc, logAdd, logErfc, logSub, normalCdf, normalSf } from "./math.js";

// Reference values: mpmath erfc at 30 digits, rounded to doubles.
const ERFC: [number, number][] = [
  [-1, 1.8427007929497148],
  [0.3, 0.6713732405408726],
  [1.5, 0.033894853524689274],
  [2.0, 0.004677734981047266],
  [2.5, 0.000406952017444959],
  [3, 2.209049699858544e-5],
  [10, 2.088487583762545e-45],
];

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

describe("special functions", () => {
  it("erfc matches reference values to 1e-13 relative", () => {
    for (const [x, want] of ERFC)
      assert.ok(relErr(erfc(x), want) < 1e-13, `erfc(${x})=${erfc(x)} want ${want}`);
  });

  it("erf is odd and complements erfc", () => {
    for (const x of [-3, -0.7, 0, 0.2, 1.9, 2.1, 4]) {
      assert.ok(Math.abs(erf(x) + erf(-x)) < 1e-16);
      assert.ok(Math.abs(erf(x) + erfc(x) - 1) < 2e-16);
    }
  });

  it("logErfc stays finite far in the tail and agrees with log(erfc) where both exist", () => {
    for (const x of [0.1, 2.5, 5, 20]) assert.ok(Math.abs(logErfc(x) - Math.log(erfc(x))) < 1e-12);
    // Asymptotic: erfc(x) ≈ e^{-x²}/(x√π)·(1 − 1/(2x²) + 3/(4x⁴)).
    const x = 300;
    const asym = -x * x - Math.log(x * Math.sqrt(Math.PI)) + Math.log1p(-1 / (2 * x * x) + 3 / (4 * x ** 4));
    assert.ok(Math.abs(logErfc(x) - asym) < 1e-12 * Math.abs(asym));
  });

  it("normal CDF and survival are consistent", () => {
    assert.ok(Math.abs(normalCdf(1.959963984540054) - 0.975) < 1e-15);
    assert.ok(relErr(normalSf(8), 6.22096057427178e-16) < 1e-12);
  });

  it("log-space add/sub", () => {
    assert.ok(Math.abs(logAdd(Math.log(2), Math.log(3)) - Math.log(5)) < 1e-15);
    assert.equal(logAdd(Number.NEGATIVE_INFINITY, 1.5), 1.5);
    assert.ok(Math.abs(logSub(Math.log(5), Math.log(3)) - Math.log(2)) < 1e-15);
    assert.equal(logSub(2, 2), Number.NEGATIVE_INFINITY);
    assert.throws(() => logSub(1, 2), RangeError);
  });
});
