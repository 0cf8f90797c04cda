/** The production MechanismRandom: node sampling and aggregate noise from node:crypto. */
import { addSecureGaussianNoise, secureGaussian, secureUniform } from "@memarc/privacy";
import type { MechanismRandom } from "./types.js";

export function secureMechanismRandom(): MechanismRandom {
  return {
    uniform: secureUniform,
    gaussian: (std) => std * secureGaussian(),
    addGaussian: (target, std) => {
      addSecureGaussianNoise(target, std);
    },
  };
}
