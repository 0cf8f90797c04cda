/**
 * A reproducible MechanismRandom for TESTS ONLY, over @memarc/privacy's seeded (non-cryptographic)
 * sampler. Real mechanisms use secureMechanismRandom().
 */
import { createInsecureSeededGaussianForTests } from "@memarc/privacy";
import type { MechanismRandom } from "../strategy/types.js";

export function insecureSeededRandomForTests(seed: number): MechanismRandom {
  const g = createInsecureSeededGaussianForTests(seed);
  return {
    uniform: () => g.uniform(),
    gaussian: (std) => std * g.normal(),
    addGaussian: (target, std) => {
      g.addNoise(target, std);
    },
  };
}
