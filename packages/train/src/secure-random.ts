/** The production TrainingRandom: Poisson sampling and Gaussian noise from node:crypto. */
import { secureGaussianFill, securePoissonSample } from "@memarc/privacy";
import type { TrainingRandom } from "./model.js";

export function secureTrainingRandom(): TrainingRandom {
  return {
    poissonSample: (n, q) => Int32Array.from(securePoissonSample(n, q)),
    fillGaussian: (out, std) => {
      secureGaussianFill(out, std);
    },
  };
}
