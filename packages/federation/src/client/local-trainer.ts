/**
 * Runs one round of local training on a node: load the global weights, DP-SGD for the dictated
 * steps, and return Δ = trained − received, clipped to the requested update norm.
 *
 * The node keeps its OWN accountant over everything its data has been used for. The coordinator's
 * ledger is authoritative for the run, but a node that sets `maxEpsilon` refuses any task whose
 * dictated settings would take its examples past that — a misconfigured or hostile coordinator
 * cannot spend more of a node's privacy than the node agreed to.
 */
import { createAccountant, type PrivacyAccountant } from "@memarc/privacy";
import {
  createOptimizer,
  makeSchedule,
  type OptimizerName,
  type ScheduleName,
  type TrainingRandom,
  trainDpSgdAsync,
} from "@memarc/train";
import type { FitReply, FitRequest } from "../coordinator/node-pool.js";
import { clipped, type Weights } from "../weights.js";
import type { LocalModel } from "./local-model.js";

export interface LocalTrainingSettings {
  optimizer: OptimizerName;
  learningRate: number;
  schedule: ScheduleName;
  warmupSteps: number;
  maxPhysicalBatch: number;
  /** Steps when no local DP is dictated. */
  steps: number;
  /** Expected batch size when no local DP is dictated. */
  batchSize: number;
}

export const DEFAULT_LOCAL_TRAINING: LocalTrainingSettings = {
  optimizer: "adam",
  learningRate: 1e-3,
  schedule: "constant",
  warmupSteps: 0,
  maxPhysicalBatch: 32,
  steps: 20,
  batchSize: 32,
};

export class LocalBudgetError extends Error {
  readonly code = "E_LOCAL_BUDGET";
  constructor(message: string) {
    super(message);
    this.name = "LocalBudgetError";
  }
}

export class TaskSettingsError extends Error {
  readonly code = "E_SCHEMA";
  constructor(message: string) {
    super(message);
    this.name = "TaskSettingsError";
  }
}

/** Read the local-training settings out of a task config, validating every field it uses. */
export function readTrainingSettings(config: Record<string, unknown>): LocalTrainingSettings {
  const s = { ...DEFAULT_LOCAL_TRAINING };
  const num = (k: keyof LocalTrainingSettings, ok: (v: number) => boolean) => {
    const v = config[k];
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isFinite(v) || !ok(v))
      throw new TaskSettingsError(`task setting ${k}: invalid value ${String(v)}`);
    (s as Record<string, unknown>)[k] = v;
  };
  num("learningRate", (v) => v > 0 && v < 100);
  num("warmupSteps", (v) => Number.isSafeInteger(v) && v >= 0);
  num("maxPhysicalBatch", (v) => Number.isSafeInteger(v) && v >= 1 && v <= 4096);
  num("steps", (v) => Number.isSafeInteger(v) && v >= 1 && v <= 1_000_000);
  num("batchSize", (v) => Number.isSafeInteger(v) && v >= 1);
  const pick = <T extends string>(k: keyof LocalTrainingSettings, allowed: readonly T[]) => {
    const v = config[k];
    if (v === undefined) return;
    if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
      throw new TaskSettingsError(
        `task setting ${k}: expected one of ${allowed.join(", ")}, got ${String(v)}`,
      );
    }
    (s as Record<string, unknown>)[k] = v;
  };
  pick("optimizer", ["sgd", "adam", "adamw"] as const);
  pick("schedule", ["constant", "linear", "cosine"] as const);
  return s;
}

export interface LocalTrainerOptions {
  random: TrainingRandom;
  /** The node's own ceiling on ε for its examples (null: accept what the coordinator dictates). */
  maxEpsilon: number | null;
  delta: number;
  /** Saved local accountant (resume across client restarts). */
  accountantState?: unknown;
  onProgress?: (p: {
    round: number;
    step: number;
    steps: number;
    loss: number;
    epsilon: number | null;
  }) => void;
}

export class LocalTrainer {
  readonly accountant: PrivacyAccountant;

  constructor(
    private readonly model: LocalModel,
    private readonly options: LocalTrainerOptions,
    accountant?: PrivacyAccountant,
  ) {
    this.accountant = accountant ?? createAccountant("rdp");
  }

  localEpsilon(): number | null {
    return this.accountant.totalSteps > 0 ? this.accountant.getEpsilon(this.options.delta) : null;
  }

  async fit(request: FitRequest, signal?: AbortSignal): Promise<FitReply> {
    const settings = readTrainingSettings(request.config);
    const dp = request.config.localDp;
    const n = this.model.numTrainExamples;
    if (dp) {
      const event = { noiseMultiplier: dp.noiseMultiplier, sampleRate: dp.sampleRate, steps: dp.steps };
      if (
        this.options.maxEpsilon !== null &&
        !this.accountant.canSpend(event, { epsilon: this.options.maxEpsilon, delta: this.options.delta })
      ) {
        throw new LocalBudgetError(
          `round ${request.round}: ${dp.steps} steps at σ=${dp.noiseMultiplier}, q=${dp.sampleRate} would exceed this node's ε limit ${this.options.maxEpsilon}`,
        );
      }
    }
    this.model.setWeights(request.weights);
    const steps = dp ? dp.steps : settings.steps;
    const config = dp
      ? {
          datasetSize: n,
          sampleRate: dp.sampleRate,
          noiseMultiplier: dp.noiseMultiplier,
          clipNorm: dp.clipNorm,
          maxPhysicalBatch: settings.maxPhysicalBatch,
          steps,
        }
      : {
          datasetSize: n,
          sampleRate: Math.min(1, settings.batchSize / n),
          noiseMultiplier: 0,
          clipNorm: Number.POSITIVE_INFINITY,
          maxPhysicalBatch: settings.maxPhysicalBatch,
          steps,
        };
    const optimizer = createOptimizer(settings.optimizer);
    let lossSum = 0;
    let lossCount = 0;
    try {
      await trainDpSgdAsync(
        this.model,
        config,
        optimizer,
        makeSchedule(settings.schedule, settings.learningRate, steps, settings.warmupSteps),
        this.options.random,
        {
          onStep: (info) => {
            // The noisy step has been applied: from here on it counts against the node's budget.
            if (dp) this.accountant.step({ noiseMultiplier: dp.noiseMultiplier, sampleRate: dp.sampleRate });
            if (Number.isFinite(info.loss)) {
              lossSum += info.loss;
              lossCount++;
            }
            this.options.onProgress?.({
              round: request.round,
              step: info.step + 1,
              steps,
              loss: info.loss,
              epsilon: null,
            });
          },
        },
        signal,
      );
    } finally {
      optimizer.dispose();
    }
    const trained = this.model.getWeights();
    const delta: Weights = {};
    for (const [k, w0] of Object.entries(request.weights)) {
      const w1 = trained[k]!;
      delta[k] = Float32Array.from(w1, (v, i) => v - w0[i]!);
    }
    const bound = request.config.updateClipNorm;
    const c =
      bound === null || bound === undefined
        ? { weights: delta, norm: Number.NaN, factor: 1 }
        : clipped(delta, bound);
    return {
      delta: c.weights,
      numExamples: n,
      metrics: { loss: lossCount ? lossSum / lossCount : Number.NaN, updateNorm: c.norm, steps },
      localEpsilon: this.localEpsilon(),
    };
  }
}
