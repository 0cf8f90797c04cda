/**
 * The run's DP policy: how a privacy budget becomes the noise each mechanism runs with. Library users,
 * the CLI and the tests all calibrate through here, so the rule is written once.
 *
 * Example-level: every node runs DP-SGD at the SAME Poisson rate q, fixed by the plan — the
 * coordinator never learns a node's example count, and every node's ledger entry is identical. The
 * noise multiplier is calibrated so that all planned rounds of local steps, composed with the planned
 * private evaluations (if any), stay within (ε, δ).
 *
 * User-level: DP-FedAvg's server noise z is calibrated for the planned rounds at node-sampling rate q.
 */
import { calibrateNoiseMultiplier } from "@memarc/privacy";
import { isEvaluationRound } from "../coordinator/coordinator.js";
import type { EvaluationMechanismSettings } from "../coordinator/node-pool.js";
import type { AdaptiveClipOptions } from "./adaptive-clip.js";
import type { LocalDpSettings } from "./types.js";

export interface LocalDpCalibration {
  epsilon: number;
  delta: number;
  rounds: number;
  stepsPerRound: number;
  /** Poisson rate q of each node's examples. */
  sampleRate: number;
  /** The noisy mean's fixed denominator (the plan's expected batch). */
  expectedBatchSize: number;
  /** Per-example clip C. */
  perExampleClip: number;
  /** Use this noise multiplier instead of calibrating one. */
  fixedNoise?: number | null;
  /** Private evaluations each node will answer during the run (composed into the budget). */
  evaluations?: { count: number; mechanism: EvaluationMechanismSettings } | null;
}

/** The local DP-SGD every node runs, with σ calibrated so the whole plan fits the budget. */
export function calibrateLocalDp(plan: LocalDpCalibration): LocalDpSettings {
  const evals = plan.evaluations;
  const noiseMultiplier =
    plan.fixedNoise ??
    calibrateNoiseMultiplier({
      targetEpsilon: plan.epsilon,
      delta: plan.delta,
      sampleRate: plan.sampleRate,
      steps: plan.rounds * plan.stepsPerRound,
      alsoSpent:
        evals && evals.count > 0
          ? [{ noiseMultiplier: evals.mechanism.noiseMultiplier, sampleRate: 1, steps: evals.count }]
          : [],
    }).noiseMultiplier;
  return {
    noiseMultiplier,
    perExampleClip: plan.perExampleClip,
    sampleRate: plan.sampleRate,
    expectedBatchSize: plan.expectedBatchSize,
    steps: plan.stepsPerRound,
  };
}

/** DP-FedAvg's server noise multiplier for `rounds` rounds at node-sampling rate q. */
export function calibrateServerNoise(o: {
  epsilon: number;
  delta: number;
  rounds: number;
  sampleRate: number;
}): number {
  return calibrateNoiseMultiplier({
    targetEpsilon: o.epsilon,
    delta: o.delta,
    sampleRate: o.sampleRate,
    steps: o.rounds,
  }).noiseMultiplier;
}

/** How many rounds end with an evaluation: every k-th and always the last (Coordinator's rule). */
export function plannedEvaluations(rounds: number, every: number): number {
  let n = 0;
  for (let r = 1; r <= rounds; r++) if (isEvaluationRound(r, rounds, every)) n++;
  return n;
}

/**
 * Adaptive clipping's constants (Andrew et al. 2021), for a total noise multiplier z:
 * - target quantile γ = 0.5: track the median update norm, the paper's default and most robust choice;
 * - learning rate η = 0.2: the paper's geometric step (C moves by at most e^{±0.1} per round);
 * - count noise σ_b = max(z, 1): the split needs 2σ_b > z; at σ_b = z the update noise grows by
 *   (1 − 1/4)^{-1/2} ≈ 1.155, a modest price for a count whose noise stays ≥ 1 (the paper's m/20
 *   would need the expected participant count, unknown until nodes join).
 */
export function adaptiveClipFor(z: number): AdaptiveClipOptions {
  return { targetQuantile: 0.5, learningRate: 0.2, countNoiseStd: Math.max(z, 1) };
}
