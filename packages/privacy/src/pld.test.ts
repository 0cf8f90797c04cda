import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PldAccountant, RdpAccountant } from "./accountant.js";
import { normalCdf } from "./math.js";
import { composePmfs, pmfDelta, pmfEpsilon, subsampledGaussianPmf } from "./pld.js";

/** δ(ε) of the Gaussian mechanism with μ = sensitivity/σ (Balle & Wang 2018). */
function gaussianDelta(mu: number, eps: number): number {
  return normalCdf(-eps / mu + mu / 2) - Math.exp(eps) * normalCdf(-eps / mu - mu / 2);
}

describe("PLD of the subsampled Gaussian", () => {
  it("single-step PMFs hold all the probability mass", () => {
    for (const [q, adj] of [
      [0.01, "add"],
      [0.01, "remove"],
      [1, "remove"],
      [0.3, "add"],
    ] as const) {
      const p = subsampledGaussianPmf(1.1, q, adj, 1e-3);
      const total = p.mass.reduce((s, m) => s + m, 0) + p.infinityMass;
      assert.ok(Math.abs(total - 1) < 1e-12, `${q} ${adj}: ${total}`);
    }
  });

  it("Gaussian σ=√3 composed 3 times: δ(ε=1) = 0.126936 ± 1e-3", () => {
    const acc = new PldAccountant({ maxGridSize: 2 ** 18 }).step({
      noiseMultiplier: Math.sqrt(3),
      sampleRate: 1,
      steps: 3,
    });
    const d = acc.getDelta(1);
    assert.ok(Math.abs(d - 0.126936) < 1e-3, `${d}`);
    assert.ok(d >= 0.126936 - 1e-6, "pessimistic estimate must not be below the exact value");
  });

  it("pure Gaussian PLD matches the analytic δ(ε) within the stated error bound", () => {
    const sigma = 4;
    const T = 20;
    const mu = Math.sqrt(T) / sigma;
    const acc = new PldAccountant({ maxGridSize: 2 ** 18 }).step({
      noiseMultiplier: sigma,
      sampleRate: 1,
      steps: T,
    });
    const spent = acc.getPrivacySpent(1e-5);
    const bound = spent.epsilonErrorBound!;
    assert.ok(bound > 0 && bound < 0.05, `bound ${bound}`);
    for (const eps of [0.25, 0.5, 1, 2, 3]) {
      const d = acc.getDelta(eps);
      assert.ok(d >= gaussianDelta(mu, eps) - 1e-12, `ε=${eps}: ${d} below exact ${gaussianDelta(mu, eps)}`);
      assert.ok(d <= gaussianDelta(mu, eps - bound) + 1e-12, `ε=${eps}: ${d} above bound`);
    }
    // ε side: the exact ε for δ=1e-5 lies in [ε_pld − bound, ε_pld].
    assert.ok(gaussianDelta(mu, spent.epsilon) <= 1e-5 * (1 + 1e-6));
    assert.ok(gaussianDelta(mu, spent.epsilon - bound) >= 1e-5);
  });

  it("is tighter than RDP on subsampled settings", () => {
    const settings = [
      { q: 0.01, sigma: 1, T: 1000, delta: 1e-5 },
      { q: 0.0025, sigma: 1.3, T: 6000, delta: 1e-5 },
      { q: 0.05, sigma: 2, T: 200, delta: 1e-6 },
    ];
    for (const { q, sigma, T, delta } of settings) {
      const ev = { noiseMultiplier: sigma, sampleRate: q, steps: T };
      const rdp = new RdpAccountant().step(ev).getEpsilon(delta);
      const pld = new PldAccountant({ maxGridSize: 2 ** 19 }).step(ev).getPrivacySpent(delta);
      assert.ok(pld.epsilon < rdp, `q=${q} σ=${sigma}: PLD ${pld.epsilon} vs RDP ${rdp}`);
      // and not absurdly small: the exact ε is at least ε_pld − bound, RDP is within ~30% of it here.
      assert.ok(pld.epsilon > 0.6 * rdp, `PLD ${pld.epsilon} suspiciously small vs RDP ${rdp}`);
    }
  });

  it("pmfEpsilon inverts pmfDelta", () => {
    const p = subsampledGaussianPmf(0.8, 0.05, "remove", 1e-3);
    const c = composePmfs([{ pmf: p, count: 50 }]);
    for (const eps of [0.5, 1.5, 3]) {
      const d = pmfDelta(c, eps);
      const back = pmfEpsilon(c, d);
      assert.ok(Math.abs(back - eps) < 1e-9, `${eps} → ${d} → ${back}`);
    }
  });

  it("FFT composition equals direct convolution", () => {
    const p = subsampledGaussianPmf(0.7, 0.2, "add", 0.05);
    const r = subsampledGaussianPmf(1.5, 0.5, "remove", 0.05);
    const c = composePmfs([
      { pmf: p, count: 2 },
      { pmf: r, count: 1 },
    ]);
    // Direct: p * p * r.
    const conv = (a: Float64Array, b: Float64Array) => {
      const out = new Float64Array(a.length + b.length - 1);
      for (let i = 0; i < a.length; i++) for (let j = 0; j < b.length; j++) out[i + j]! += a[i]! * b[j]!;
      return out;
    };
    const direct = conv(conv(p.mass, p.mass), r.mass);
    const off = 2 * p.offset + r.offset;
    let maxErr = 0;
    for (let k = 0; k < direct.length; k++) {
      const j = off + k - c.offset;
      const got = j >= 0 && j < c.mass.length ? c.mass[j]! : 0;
      maxErr = Math.max(maxErr, Math.abs(got - direct[k]!));
    }
    assert.ok(maxErr < 1e-12, `max error ${maxErr}`);
    const inf = 1 - (1 - p.infinityMass) ** 2 * (1 - r.infinityMass);
    assert.ok(c.infinityMass >= inf && c.infinityMass - inf < 1e-15);
  });
});
