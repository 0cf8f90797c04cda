/**
 * Timing DP-SGD steps through the real engine, the same code under Node (`memarc bench step`) and in
 * a browser's Web Worker (`memarc bench browser-step`): trainDpSgd over a model, q = 1 on a fixed
 * batch, so every step sees the same B examples.
 */
import { DEFAULT_MAX_PHYSICAL_BATCH, trainDpSgd } from "./dp-sgd.js";
import type { Backbone } from "./finetune/backbone.js";
import { createScheme } from "./finetune/schemes.js";
import type { TrainableModel } from "./model.js";
import { createOptimizer } from "./optimizers.js";
import { ClipPool, workerBackboneSource } from "./parallel/clip-pool.js";
import { ParallelSchemeModel } from "./parallel/parallel-model.js";
import { makeSchedule } from "./schedule.js";
import { SchemeModel } from "./scheme-model.js";
import { secureTrainingRandom } from "./secure-random.js";
import type { TokenizedDataset } from "./tokenized.js";

/** B rows of T random token ids; every other row right-padded to 3T/4, as in real data. */
export function randomRows(b: number, t: number, vocab: number, seed: number): TokenizedDataset {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const ids = new Int32Array(b * t);
  const lengths = new Int32Array(b);
  const labels = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    lengths[i] = i % 2 ? t - Math.floor(t / 4) : t;
    labels[i] = i % 2;
    for (let k = 0; k < lengths[i]!; k++) ids[i * t + k] = Math.floor(next() * vocab);
  }
  return { ids, lengths, labels, count: b, length: t };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface StepTimesOptions {
  /** Examples per step (q = 1 on a fixed batch of this many). */
  batch: number;
  /** Clipped and noised (true) or plain gradients (false). */
  dp: boolean;
  warmup: number;
  steps: number;
  /** Examples per physical micro-batch (default: min(B / threads, DEFAULT_MAX_PHYSICAL_BATCH), as training runs it). */
  microBatch?: number;
}

/** Per-step milliseconds of `steps` engine steps after `warmup` unmeasured ones. */
export async function stepTimes(model: TrainableModel, o: StepTimesOptions): Promise<number[]> {
  const { batch: b, dp, warmup, steps } = o;
  const threads = model.parallel?.concurrency ?? 1;
  const times: number[] = [];
  const optimizer = createOptimizer("adam");
  let last = performance.now();
  await trainDpSgd({
    model,
    config: {
      datasetSize: b,
      sampleRate: 1,
      noiseMultiplier: dp ? 1 : 0,
      clipNorm: dp ? 1 : Number.POSITIVE_INFINITY,
      maxPhysicalBatch: o.microBatch ?? Math.min(Math.ceil(b / threads), DEFAULT_MAX_PHYSICAL_BATCH),
      steps: warmup + steps,
    },
    optimizer,
    schedule: makeSchedule("constant", 1e-4, warmup + steps),
    random: secureTrainingRandom(),
    // From the end of one step to the end of the next: the driver's yield between steps (one
    // setImmediate, microseconds) is inside the measurement.
    onStep: (s) => {
      const now = performance.now();
      if (s.step >= warmup) times.push(now - last);
      last = now;
    },
  });
  optimizer.dispose();
  return times;
}

/**
 * Per-step milliseconds of DP steps of the side scheme on `backbone`, on a synthetic batch (what
 * `memarc bench browser-step` runs in the browser and in Node alike). threads > 1: the step's
 * micro-batches are clipped on that many DP-step workers (worker threads under Node, Web Workers in
 * a browser), which rebuild the backbone from its directory or its kept files.
 */
export async function sideDpStepTimes(
  backbone: Backbone,
  o: { batch: number; context: number; warmup: number; steps: number; threads?: number },
): Promise<number[]> {
  const create = { numClasses: 2, seed: 1 };
  const scheme = createScheme("side", backbone, create);
  const threads = o.threads ?? 1;
  let pool: ClipPool | null = null;
  try {
    const data = randomRows(o.batch, o.context, backbone.model.config.vocabSize, 17);
    let model: TrainableModel = new SchemeModel(scheme.scheme!, data);
    if (threads > 1) {
      pool = new ClipPool(threads, {
        backbone: workerBackboneSource(backbone),
        kind: "side",
        scheme: create,
        objective: "classify",
      });
      model = new ParallelSchemeModel(model as SchemeModel, pool);
    }
    return await stepTimes(model, { batch: o.batch, dp: true, warmup: o.warmup, steps: o.steps });
  } finally {
    await pool?.close();
    scheme.dispose();
  }
}
