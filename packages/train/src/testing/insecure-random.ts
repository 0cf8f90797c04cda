/**
 * Reproducible TrainingRandom for TESTS ONLY (mulberry32 + Box–Muller; not a CSPRNG). Real
 * training uses @memarc/privacy's secure sampler.
 */
import type { TrainingRandom } from "../model.js";

export function insecureSeededTrainingRandomForTests(seed: number): TrainingRandom & { uniform(): number } {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    poissonSample(n, q) {
      const out: number[] = [];
      for (let i = 0; i < n; i++) if (uniform() < q) out.push(i);
      return Int32Array.from(out);
    },
    fillGaussian(out, std) {
      for (let i = 0; i < out.length; i++) {
        out[i] = std * Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
      }
    },
  };
}
