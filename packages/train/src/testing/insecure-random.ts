/**
 * Reproducible TrainingRandom for TESTS ONLY (mulberry32 sampling, seeded bits for the lattice
 * mechanism; not a CSPRNG). Real training uses @memarc/privacy's secure sampler.
 */
import {
  addLatticeGaussian,
  addLatticeNoise,
  drawLatticeNoise,
  insecureSeededBitsForTests,
} from "@memarc/privacy";
import { insecureSeededUniformForTests } from "@memarc/tokenizer/testing";
import type { TrainingRandom } from "../model.js";

export function insecureSeededTrainingRandomForTests(seed: number): TrainingRandom & { uniform(): number } {
  const bits = insecureSeededBitsForTests(seed);
  const uniform = insecureSeededUniformForTests(seed);
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
    drawNoise: (dimension, std, sensitivity) => drawLatticeNoise(dimension, { std, sensitivity }, bits),
    addDrawnNoise(values, noise, std, sensitivity) {
      addLatticeNoise([values], noise, { std, sensitivity });
    },
  };
}
