/**
 * The DP-SGD loop (Abadi et al. 2016, with Poisson sampling as the accountants assume):
 *
 *   for each step:  B ~ Poisson(q) over the dataset            (each example independently)
 *                   g = Σ_{i∈B} clip_C(∇ℓᵢ)                      (physical micro-batches, summed)
 *                   g̃ = (g + N(0, (zC)²·I)) / (q·N)             (noise once per logical batch;
 *                                                                 fixed denominator = E|B|)
 *                   θ ← optimiser(θ, g̃)
 *
 * Dividing by the expected batch size instead of |B| keeps the sensitivity exactly C/(qN): |B| is
 * itself data-dependent. An empty batch still takes a (pure-noise) step, for the same reason. q·N
 * still depends on N: single-node fine-tuning treats the dataset size as public, as Opacus and TF
 * Privacy do, but a federated node passes `expectedBatchSize` fixed by the run's plan instead — a
 * released update scaled by 1/N would let an observer of many noisy coordinates estimate N, and
 * with it whether one more example is present.
 * With an accountant and a budget, no step is taken that would exceed the budget; training then
 * stops with the rest of the budget unspent.
 */
import type { LatticeNoise, PrivacyAccountant, PrivacyBudget } from "@memarc/privacy";
import * as tf from "@tensorflow/tfjs";
import { disposeGrads, type TrainableModel, type TrainingRandom } from "./model.js";
import type { Grads, Optimizer } from "./optimizers.js";
import type { Schedule } from "./schedule.js";

/**
 * The largest micro-batch through the backward at once unless a run sets it (finetune, client,
 * simulate and bench step alike): 32 examples keep a side step of the bundled encoder under ~0.6 GB
 * and its per-example products within the kernel's keep budget.
 */
export const DEFAULT_MAX_PHYSICAL_BATCH = 32;

export interface DpSgdConfig {
  datasetSize: number;
  /** q: Poisson sampling rate (expected batch = q·N). */
  sampleRate: number;
  /**
   * The fixed denominator of the noisy mean. Default q·N (the dataset size treated as public);
   * a federated node passes a value fixed by the plan, independent of its data.
   */
  expectedBatchSize?: number;
  /** z; 0 together with clipNorm = Infinity trains without DP. */
  noiseMultiplier: number;
  clipNorm: number;
  /** Largest micro-batch run through the backward at once (bounds memory). */
  maxPhysicalBatch: number;
  steps: number;
}

export interface StepInfo {
  step: number;
  batchSize: number;
  /** Mean loss over the sampled examples (NaN for an empty batch). */
  loss: number;
  lr: number;
  /** Fraction of sampled examples whose gradient norm exceeded C. */
  clippedFraction: number;
}

export interface DpSgdResult {
  stepsTaken: number;
  stoppedByBudget: boolean;
  examplesProcessed: number;
  seconds: number;
}

export function validateDpSgdConfig(c: DpSgdConfig): void {
  if (!Number.isSafeInteger(c.datasetSize) || c.datasetSize < 1)
    throw new RangeError(`datasetSize must be ≥ 1, got ${c.datasetSize}`);
  if (!(c.sampleRate > 0 && c.sampleRate <= 1))
    throw new RangeError(`sampleRate must be in (0, 1], got ${c.sampleRate}`);
  if (!(c.noiseMultiplier >= 0) || !Number.isFinite(c.noiseMultiplier)) {
    throw new RangeError(`noiseMultiplier must be a finite number ≥ 0, got ${c.noiseMultiplier}`);
  }
  if (!(c.clipNorm > 0)) throw new RangeError(`clipNorm must be > 0, got ${c.clipNorm}`);
  if (c.expectedBatchSize !== undefined && !(c.expectedBatchSize > 0 && Number.isFinite(c.expectedBatchSize)))
    throw new RangeError(`expectedBatchSize must be > 0, got ${c.expectedBatchSize}`);
  if (c.noiseMultiplier > 0 && !Number.isFinite(c.clipNorm))
    throw new RangeError("noise needs a finite clipNorm");
  if (!Number.isSafeInteger(c.maxPhysicalBatch) || c.maxPhysicalBatch < 1) {
    throw new RangeError(`maxPhysicalBatch must be ≥ 1, got ${c.maxPhysicalBatch}`);
  }
  if (!Number.isSafeInteger(c.steps) || c.steps < 0)
    throw new RangeError(`steps must be ≥ 0, got ${c.steps}`);
}

export function isPrivate(c: DpSgdConfig): boolean {
  return c.noiseMultiplier > 0;
}

interface Accumulated {
  sum: Grads;
  lossSum: number;
  clipped: number;
}

/** A micro-batch's gradient sum, its loss sum and (when clipped) its per-example norms. */
interface PartSum {
  grads: Grads;
  lossSum: number;
  norms: Float32Array | null;
}

/** One micro-batch's clipped (or, without DP, plain) gradient sum, on this thread or a worker. */
function microBatch(
  model: TrainableModel,
  part: Int32Array,
  config: DpSgdConfig,
): PartSum | Promise<PartSum> {
  const clip = isPrivate(config) || Number.isFinite(config.clipNorm);
  const p = model.parallel;
  if (p) {
    return clip
      ? p
          .clippedGradients(part, config.clipNorm)
          .then((r) => ({ grads: r.clippedSum, lossSum: r.lossSum, norms: r.norms }))
      : p.gradients(part).then((r) => ({ grads: r.sum, lossSum: r.lossSum, norms: null }));
  }
  if (clip) {
    const r = model.clippedGradients(part, config.clipNorm);
    return { grads: r.clippedSum, lossSum: r.lossSum, norms: r.norms };
  }
  const r = model.gradients(part);
  return { grads: r.sum, lossSum: r.lossSum, norms: null };
}

function addInto(acc: Accumulated, part: PartSum, clipNorm: number): void {
  acc.lossSum += part.lossSum;
  if (part.norms) for (const n of part.norms) if (n > clipNorm) acc.clipped++;
  for (const [name, g] of part.grads) {
    const prev = acc.sum.get(name);
    if (prev) {
      acc.sum.set(name, tf.add(prev, g));
      prev.dispose();
      g.dispose();
    } else {
      acc.sum.set(name, g);
    }
  }
}

/**
 * Sum the clipped (or plain) gradients of `indices` over micro-batches of bounded size. A model
 * with worker threads (`model.parallel`) gets up to `concurrency` micro-batches at once; results
 * are added here as they arrive (addition order does not matter beyond float rounding).
 */
async function accumulate(
  model: TrainableModel,
  indices: Int32Array,
  config: DpSgdConfig,
): Promise<Accumulated> {
  const acc: Accumulated = { sum: new Map(), lossSum: 0, clipped: 0 };
  const parts: Int32Array[] = [];
  for (let start = 0; start < indices.length; start += config.maxPhysicalBatch)
    parts.push(indices.subarray(start, start + config.maxPhysicalBatch));
  const window = Math.max(1, model.parallel?.concurrency ?? 1);
  let next = 0;
  let failure: unknown = null;
  const lane = async () => {
    while (next < parts.length && failure === null) {
      const part = parts[next++]!;
      try {
        addInto(acc, await microBatch(model, part, config), config.clipNorm);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, parts.length) }, lane));
  if (failure !== null) {
    disposeGrads(acc.sum);
    throw failure;
  }
  return acc;
}

/**
 * The noise step: turn a clipped gradient sum into the noisy mean gradient; consumes `sum`. All
 * parameters form ONE release (the clip C bounds the joint norm), so they are noised together as one
 * vector by the lattice mechanism, then divided by the fixed denominator q·N.
 */
export function noisyMeanGradient(
  params: TrainableModel["params"],
  sum: Grads,
  batchSize: number,
  config: DpSgdConfig,
  random: TrainingRandom,
  drawn?: LatticeNoise,
): Grads {
  const out: Grads = new Map();
  const priv = isPrivate(config);
  const denom = priv
    ? (config.expectedBatchSize ?? config.sampleRate * config.datasetSize)
    : Math.max(1, batchSize);
  if (!priv) {
    for (const [name, p] of params) {
      const g = sum.get(name);
      out.set(name, tf.div(g ?? tf.zerosLike(p), denom));
      g?.dispose();
    }
  } else {
    let total = 0;
    for (const p of params.values()) total += p.size;
    const flat = new Float32Array(total);
    let offset = 0;
    for (const [name, p] of params) {
      const g = sum.get(name);
      if (g) flat.set(g.dataSync() as Float32Array, offset);
      g?.dispose();
      offset += p.size;
    }
    const std = config.noiseMultiplier * config.clipNorm;
    if (drawn && random.addDrawnNoise) random.addDrawnNoise(flat, drawn, std, config.clipNorm);
    else random.addNoise(flat, std, config.clipNorm);
    const scale = 1 / denom;
    for (let i = 0; i < flat.length; i++) flat[i] = flat[i]! * scale;
    offset = 0;
    for (const [name, p] of params) {
      out.set(name, tf.tensor(flat.subarray(offset, offset + p.size), p.shape, "float32"));
      offset += p.size;
    }
  }
  for (const [name, g] of sum) if (!params.has(name)) g.dispose();
  return out;
}

/** One logical DP-SGD step (sample, clip-and-accumulate, noise, optimiser update). */
async function takeStep(
  model: TrainableModel,
  config: DpSgdConfig,
  optimizer: Optimizer,
  schedule: Schedule,
  random: TrainingRandom,
  step: number,
): Promise<StepInfo> {
  const indices = random.poissonSample(config.datasetSize, config.sampleRate);
  // With worker threads, the step's noise is drawn while they clip (it does not depend on the data):
  // on this thread, or in shares on the workers when the random source does that. Still one draw
  // per step, used by this step's release alone.
  let early: Promise<LatticeNoise> | undefined;
  if (isPrivate(config) && model.parallel && random.drawNoise && random.addDrawnNoise) {
    let dimension = 0;
    for (const p of model.params.values()) dimension += p.size;
    early = random.drawNoise(
      dimension,
      config.noiseMultiplier * config.clipNorm,
      config.clipNorm,
      model.parallel.noiseWorkers,
    );
    early.catch(() => undefined); // handled below, after the clipping; not an unhandled rejection
  }
  let acc: Accumulated;
  try {
    acc = await accumulate(model, indices, config);
  } catch (err) {
    await early?.catch(() => undefined); // nothing is released; let the draw finish and drop it
    throw err;
  }
  const { sum, lossSum, clipped } = acc;
  let drawn: LatticeNoise | undefined;
  try {
    drawn = early ? await early : undefined;
  } catch (err) {
    disposeGrads(sum);
    throw err;
  }
  const grads = noisyMeanGradient(model.params, sum, indices.length, config, random, drawn);
  const lr = schedule(step);
  optimizer.step(model.params, grads, lr);
  disposeGrads(grads);
  return {
    step,
    batchSize: indices.length,
    loss: indices.length ? lossSum / indices.length : Number.NaN,
    lr,
    clippedFraction: indices.length ? clipped / indices.length : 0,
  };
}

/** One run of the loop: what trains, on what settings, and what it is charged to. */
export interface DpSgdRun {
  model: TrainableModel;
  config: DpSgdConfig;
  optimizer: Optimizer;
  schedule: Schedule;
  random: TrainingRandom;
  /**
   * Charged once per noisy step, after the step's noise is drawn and before the next step. Absent:
   * the caller accounts (tests, benchmarks). Ignored for a non-private config (nothing to charge).
   */
  accountant?: PrivacyAccountant | null;
  /** With `accountant`: no step is taken that would take ε past the budget (exact, see below). */
  budget?: PrivacyBudget | null;
  /** After each step, once the noisy update is applied (and charged). */
  onStep?: (info: StepInfo) => void;
  /** Stops the loop between steps; the steps already taken are reported and were charged. */
  signal?: AbortSignal;
}

/**
 * The one DP-SGD driver (single-node fine-tuning and every federated node): sample, clip, noise,
 * update, charge — and stop exactly at the budget. It yields to the event loop after every step, so
 * a process that also serves a network connection (a node, the simulator) keeps answering
 * heartbeats while it trains.
 */
export async function trainDpSgd(run: DpSgdRun): Promise<DpSgdResult> {
  const { model, config, optimizer, schedule, random } = run;
  validateDpSgdConfig(config);
  const charged = isPrivate(config) && run.accountant ? run.accountant : null;
  const mayStep = charged && run.budget ? budgetStop(charged, run.budget, config) : () => true;
  const event = { noiseMultiplier: config.noiseMultiplier, sampleRate: config.sampleRate };
  const t0 = performance.now();
  let examples = 0;
  let step = 0;
  let stoppedByBudget = false;
  for (; step < config.steps; step++) {
    if (run.signal?.aborted) break;
    if (!mayStep(step)) {
      stoppedByBudget = true;
      break;
    }
    const info = await takeStep(model, config, optimizer, schedule, random, step);
    charged?.step(event);
    examples += info.batchSize;
    run.onStep?.(info);
    await yieldToEventLoop();
  }
  return {
    stepsTaken: step,
    stoppedByBudget,
    examplesProcessed: examples,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * Is the next step within budget? ε grows with the step count, so once canSpend({steps: m}) holds,
 * the next m steps are all within budget and need no new check; a refusal is only ever decided by
 * canSpend({steps: 1}). Exact, with O(log² steps) accountant evaluations instead of one (~25 ms for
 * RDP) per step.
 */
function budgetStop(
  accountant: PrivacyAccountant,
  budget: PrivacyBudget,
  config: DpSgdConfig,
): (step: number) => boolean {
  const event = { noiseMultiplier: config.noiseMultiplier, sampleRate: config.sampleRate };
  let safeUntil = 0;
  return (step) => {
    if (step < safeUntil) return true;
    for (let m = Math.max(1, config.steps - step); m >= 1; m = Math.floor(m / 2)) {
      if (accountant.canSpend({ ...event, steps: m }, budget)) {
        safeUntil = step + m;
        return true;
      }
    }
    return false;
  };
}

/**
 * Let other work (sockets, timers) run between DP steps: setImmediate under Node, a zero timeout in
 * a browser's Web Worker (which has no setImmediate).
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) =>
    typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0),
  );
}
