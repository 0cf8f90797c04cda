/** The production TrainingRandom: Poisson sampling and lattice Gaussian noise from node:crypto. */
import { addLatticeGaussian, addLatticeNoise, drawLatticeNoise, securePoissonSample } from "@memarc/privacy";
import type { TrainingRandom } from "./model.js";

export function secureTrainingRandom(): TrainingRandom {
  return {
    poissonSample: (n, q) => Int32Array.from(securePoissonSample(n, q)),
    addNoise: (values, std, sensitivity) => {
      addLatticeGaussian([values], { std, sensitivity });
    },
    drawNoise: (dimension, std, sensitivity) => drawLatticeNoise(dimension, { std, sensitivity }),
    addDrawnNoise: (values, noise, std, sensitivity) => {
      addLatticeNoise([values], noise, { std, sensitivity });
    },
  };
}
