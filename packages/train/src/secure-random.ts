/** The production TrainingRandom: Poisson sampling and lattice Gaussian noise from the CSPRNG. */
import {
  addLatticeGaussian,
  addLatticeNoise,
  drawLatticeNoise,
  type LatticeNoise,
  latticeNoiseFromShares,
  securePoissonSample,
} from "@memarc/privacy";
import type { NoiseWorkers, TrainingRandom } from "./model.js";

/** Shares per worker: several, so that a worker still clipping does not hold the whole draw back. */
const SHARES_PER_WORKER = 4;

/**
 * A release's noise drawn in shares on `workers` (each from its thread's CSPRNG), laid end to end:
 * the same distribution as one draw on this thread (the draws are i.i.d. with the whole release's
 * plan), in a fraction of the time on several cores.
 */
async function drawOnWorkers(
  workers: NoiseWorkers,
  dimension: number,
  o: { std: number; sensitivity: number },
): Promise<LatticeNoise> {
  const parts = Math.min(dimension, workers.concurrency * SHARES_PER_WORKER);
  const counts = Array.from(
    { length: parts },
    (_, i) => Math.floor(((i + 1) * dimension) / parts) - Math.floor((i * dimension) / parts),
  );
  return latticeNoiseFromShares(dimension, o, await workers.drawShares(dimension, counts, o));
}

export function secureTrainingRandom(): TrainingRandom {
  return {
    poissonSample: (n, q) => Int32Array.from(securePoissonSample(n, q)),
    addNoise: (values, std, sensitivity) => {
      addLatticeGaussian([values], { std, sensitivity });
    },
    drawNoise: (dimension, std, sensitivity, workers) =>
      workers && workers.concurrency > 1
        ? drawOnWorkers(workers, dimension, { std, sensitivity })
        : drawLatticeNoise(dimension, { std, sensitivity }),
    addDrawnNoise: (values, noise, std, sensitivity) => {
      addLatticeNoise([values], noise, { std, sensitivity });
    },
  };
}
