/** The production MechanismRandom: node sampling and lattice Gaussian noise from node:crypto. */
import { addLatticeGaussian, secureUniform } from "@memarc/privacy";
import type { MechanismRandom } from "./types.js";

export function secureMechanismRandom(): MechanismRandom {
  return {
    uniform: secureUniform,
    addNoise: (parts, std, sensitivity) => {
      addLatticeGaussian(parts, { std, sensitivity });
    },
  };
}
