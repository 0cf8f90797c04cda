/**
 * Peak memory of one representative DP-SGD step, measured with @memarc/tensor's `measurePeak`
 * (tfjs engine bytes — exact on wasm — via tf.profile; the peak is reported ABOVE the bytes
 * resident when the step starts).
 *
 * What the step does (the engine's per-step work on one physical micro-batch):
 *   1. build the micro-batch tensors (token ids + mask + labels; side: the cached backbone features
 *      uploaded as tensors, exactly as training does),
 *   2. the per-example-clipped gradient sum by book-keeping (`clippedGradients`; with ε = ∞ the plain
 *      `gradients`, as the engine does),
 *   3. Gaussian noise of the parameters' shapes added, divided by the expected batch size,
 *   4. an optimizer update — applied to scratch copies of the trainable variables with a fresh
 *      optimizer, so the real model is untouched and no privacy is spent. The fresh optimizer
 *      allocates its state (Adam: 2× the trainable parameters) inside the measurement, as the first
 *      real step does.
 *
 * Not included (resident before the step): the frozen backbone weights, the trainable variables
 * themselves, the side scheme's feature cache (JS heap, not engine memory), the dataset.
 * The micro-batch is the first min(batchSize, maxPhysicalBatch) training rows: the tensors are
 * fixed-shape [B, T], so the peak does not depend on which rows they are. Nothing about the data is
 * released except this byte count.
 */
import { measurePeak } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { noisyMeanGradient } from "../dp-sgd.js";
import type { TrainableModel, TrainingRandom } from "../model.js";
import type { Grads, Optimizer } from "../optimizers.js";

export interface StepPeak {
  /** Peak engine bytes above the step's start. */
  peakBytes: number;
  wallMs: number;
  /** Examples in the measured micro-batch. */
  examples: number;
  /** Tensors left behind once the scratch variables and optimizer are freed (should be 0). */
  leakedTensors: number;
}

export async function measureDpStepPeak(
  model: TrainableModel,
  numExamples: number,
  o: {
    physicalBatch: number;
    clipNorm: number;
    noiseMultiplier: number;
    expectedBatch: number;
    lr: number;
    makeOptimizer: () => Optimizer;
    random: TrainingRandom;
  },
): Promise<StepPeak> {
  const n = Math.min(o.physicalBatch, numExamples);
  const indices = Int32Array.from({ length: n }, (_, i) => i);
  const tensorsBefore = tf.memory().numTensors;
  // Scratch variables share the real ones' data (tfjs refcounts it), so they add no bytes at the start.
  const scratch = new Map([...model.params].map(([k, v]) => [k, tf.variable(v, true)]));
  const optimizer = o.makeOptimizer();
  const clip = o.noiseMultiplier > 0 || Number.isFinite(o.clipNorm);
  const m = await measurePeak(() => {
    const sum: Grads = clip
      ? model.clippedGradients(indices, o.clipNorm).clippedSum
      : model.gradients(indices).sum;
    const grads = noisyMeanGradient(
      model.params,
      sum,
      n,
      {
        datasetSize: numExamples,
        sampleRate: o.expectedBatch / numExamples,
        noiseMultiplier: o.noiseMultiplier,
        clipNorm: o.clipNorm,
        maxPhysicalBatch: o.physicalBatch,
        steps: 1,
      },
      o.random,
    );
    optimizer.step(scratch, grads, o.lr);
    tf.dispose([...grads.values()]);
  });
  optimizer.dispose();
  tf.dispose([...scratch.values()]);
  return {
    peakBytes: m.peakBytes,
    wallMs: m.wallMs,
    examples: n,
    leakedTensors: tf.memory().numTensors - tensorsBefore,
  };
}
