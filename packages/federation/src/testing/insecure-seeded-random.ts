/**
 * A reproducible MechanismRandom for TESTS ONLY, over @memarc/privacy's seeded (non-cryptographic)
 * words. Real mechanisms use secureMechanismRandom(). Node sampling and noise draw from separate
 * streams, so two runs with the same seed add the same noise whatever they sample.
 */
import {
  addLatticeGaussian,
  createInsecureSeededGaussianForTests,
  insecureSeededBitsForTests,
} from "@memarc/privacy";
import type { MechanismRandom } from "../strategy/types.js";

export function insecureSeededRandomForTests(seed: number): MechanismRandom {
  const g = createInsecureSeededGaussianForTests(seed);
  const bits = insecureSeededBitsForTests(seed ^ 0x5eed);
  return {
    uniform: () => g.uniform(),
    addNoise: (parts, std, sensitivity) => {
      addLatticeGaussian(parts, { std, sensitivity }, bits);
    },
  };
}
