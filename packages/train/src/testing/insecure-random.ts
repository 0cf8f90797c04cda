/**
 * Reproducible TrainingRandom for TESTS ONLY (mulberry32 sampling, seeded bits for the lattice
 * mechanism; not a CSPRNG). Real training uses @memarc/privacy's secure sampler.
 */
import { addLatticeGaussian, insecureSeededBitsForTests } from "@memarc/privacy";
import type { TrainingRandom } from "../model.js";

export function insecureSeededTrainingRandomForTests(seed: number): TrainingRandom & { uniform(): number } {
  let s = seed >>> 0;
  const bits = insecureSeededBitsForTests(seed);
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
    addNoise(values, std, sensitivity) {
      addLatticeGaussian([values], { std, sensitivity }, bits);
    },
  };
}
