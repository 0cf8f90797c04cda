import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createAccountant } from "./accountant.js";
import { calibrateNoiseMultiplier } from "./calibrate.js";

describe("noise calibration", () => {
  for (const [kind, options] of [
    ["rdp", {}],
    ["pld", { pld: { maxGridSize: 2 ** 15 } }],
  ] as const) {
    it(`${kind}: finds the smallest σ meeting the target to 1e-3 relative`, () => {
      const req = { targetEpsilon: 2, delta: 1e-5, sampleRate: 0.02, steps: 300, accountant: kind, options };
      const r = calibrateNoiseMultiplier(req);
      const eps = (sigma: number) => {
        const a = createAccountant(kind, options);
        a.step({ noiseMultiplier: sigma, sampleRate: req.sampleRate, steps: req.steps });
        return a.getEpsilon(req.delta);
      };
      assert.ok(r.epsilon <= 2, `${r.epsilon}`);
      assert.equal(eps(r.noiseMultiplier), r.epsilon);
      assert.ok(eps(r.noiseMultiplier * (1 - 2e-3)) > 2, "a noticeably smaller σ must miss the target");
    });
  }

  it("RDP: q=1, T=1 Gaussian needs more noise for a smaller ε", () => {
    const a = calibrateNoiseMultiplier({ targetEpsilon: 1, delta: 1e-5, sampleRate: 1, steps: 1 });
    const b = calibrateNoiseMultiplier({ targetEpsilon: 0.5, delta: 1e-5, sampleRate: 1, steps: 1 });
    assert.ok(b.noiseMultiplier > 1.8 * a.noiseMultiplier);
  });

  it("rejects bad targets", () => {
    assert.throws(
      () => calibrateNoiseMultiplier({ targetEpsilon: 0, delta: 1e-5, sampleRate: 0.1, steps: 1 }),
      RangeError,
    );
  });
});
