/**
 * The local training plan: everything a node needs to train one round, as one typed value. It is
 * composed on the coordinator from two halves —
 *   - the run's optimisation settings (LocalOptimization: scheme, optimiser, learning rate, schedule,
 *     micro-batch, context; fixed by the run, defaults from the scheme's preset), and
 *   - the strategy's privacy decisions (FitConfig: local DP-SGD's σ, C, q, steps, the update clip S),
 * — then crosses the wire field for field (the protocol's LocalTrainingPlan plus the scheme, checked
 * by its schema on arrival) and drives the node's DP-SGD driver unchanged. One shape from the
 * coordinator's flags to the noise draw; no untyped settings, no whitelist, no second set of defaults.
 */
import type { LocalTrainingPlan as WirePlan } from "@memarc/protocol";
import {
  DEFAULT_MAX_PHYSICAL_BATCH,
  type OptimizerName,
  type ScheduleName,
  TRAINING_PRESETS,
  type TrainingPreset,
} from "@memarc/train";
import type { FitConfig } from "../strategy/types.js";

export interface LocalTrainingPlan extends WirePlan {
  /** Fine-tuning scheme; the round's weights are exactly its trainable tensors. */
  scheme: string;
}

/** The run's optimisation settings: what a node trains and how, apart from privacy. */
export interface LocalOptimization {
  scheme: string;
  optimizer: OptimizerName;
  learningRate: number;
  schedule: ScheduleName;
  warmupSteps: number;
  /** Largest micro-batch through the backward at once (memory only; the result does not change). */
  maxPhysicalBatch: number;
  /** Tokens per example; null for logreg, which hashes every word. */
  contextLength: number | null;
  /** Steps and Poisson rate of a round when the strategy dictates no local DP (with it: its own). */
  steps: number;
  sampleRate: number;
}

/**
 * Poisson rate of a round without local DP (user-level runs, where the coordinator adds the noise):
 * the rate every example-level default uses too (docs/results.md).
 */
export const DEFAULT_SAMPLE_RATE = 0.2;

/** Local steps per round for a scheme without a preset (a library user's own model). */
export const DEFAULT_LOCAL_STEPS = 10;

/**
 * A run's optimisation settings: the scheme's preset (TRAINING_PRESETS in @memarc/train — the same
 * numbers `memarc finetune` and `--help` show), then `overrides`. A scheme of your own (a
 * LocalModel of yours) has no preset: give at least its optimizer and learning rate.
 */
export function localOptimizationFor(
  scheme: string,
  overrides: Partial<Omit<LocalOptimization, "scheme">> = {},
): LocalOptimization {
  const p = (TRAINING_PRESETS as Partial<Record<string, TrainingPreset>>)[scheme];
  if (!p && (overrides.optimizer === undefined || overrides.learningRate === undefined))
    throw new RangeError(
      `scheme "${scheme}" has no training preset (${Object.keys(TRAINING_PRESETS).join(", ")} do): pass optimizer and learningRate`,
    );
  return {
    scheme,
    optimizer: p?.optimizer ?? "sgd",
    learningRate: p?.lr ?? Number.NaN,
    schedule: "constant",
    warmupSteps: 0,
    maxPhysicalBatch: DEFAULT_MAX_PHYSICAL_BATCH,
    contextLength: p && scheme !== "logreg" ? p.contextLength : null,
    steps: p?.localSteps ?? DEFAULT_LOCAL_STEPS,
    sampleRate: DEFAULT_SAMPLE_RATE,
    ...overrides,
  };
}

/** The plan a node receives: the run's settings with the strategy's decisions for this node. */
export function composePlan(
  training: LocalOptimization,
  config: FitConfig,
  delta: number,
): LocalTrainingPlan {
  const dp = config.localDp;
  return {
    scheme: training.scheme,
    steps: dp ? dp.steps : training.steps,
    sampleRate: dp ? dp.sampleRate : training.sampleRate,
    optimizer: training.optimizer,
    learningRate: training.learningRate,
    schedule: training.schedule,
    warmupSteps: training.warmupSteps,
    maxPhysicalBatch: training.maxPhysicalBatch,
    contextLength: training.contextLength,
    updateClip: config.updateClip,
    reportUnclipped: config.reportUnclipped === true,
    dp: dp
      ? {
          perExampleClip: dp.perExampleClip,
          noiseMultiplier: dp.noiseMultiplier,
          delta,
          expectedBatchSize: dp.expectedBatchSize,
        }
      : null,
  };
}
