/**
 * A federated run's settings, from flags, turned into a strategy and the noise it dictates. The
 * calibration rules live in @memarc/federation's dp-policy (one place for library users and tests).
 *
 * Example-level (the default): every node runs DP-SGD at the same Poisson rate q (--local-sample-rate),
 * so the coordinator needs no example counts; σ is calibrated so that R planned rounds of K local
 * steps — and any planned private evaluations — stay within (ε, δ). The ledger then stops the run if
 * anything (a resume, an extra round) would take any node past the budget.
 *
 * User-level: DP-FedAvg's server noise z is calibrated for R rounds at node-sampling rate q.
 */

import {
  adaptiveClipFor,
  calibrateLocalDp,
  calibrateServerNoise,
  type EvaluationMechanismSettings,
  FedAdam,
  FedAvg,
  type LocalOptimization,
  localOptimizationFor,
  type PrivacyUnit,
  plannedEvaluations,
  type ServerOptimizer,
  ServerSgd,
  type Strategy,
  secureMechanismRandom,
  UserLevelDp,
} from "@memarc/federation";
import { describePresetField, type FinetuneSchemeKind, presetFor } from "@memarc/train";
import type { OptionSpec } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";
import type { Flags } from "../cli/flags.js";

export interface RunPlan {
  scheme: FinetuneSchemeKind;
  rounds: number;
  epsilon: number;
  delta: number;
  privacyUnit: PrivacyUnit;
  localSteps: number;
  /** Poisson rate q of every node's examples per local step (fixed in advance: no counts needed). */
  localSampleRate: number;
  /** Fixed denominator of the nodes' noisy gradient means (the expected batch the plan assumes). */
  localBatchSize: number;
  clipNorm: number;
  learningRate: number;
  optimizer: "adam" | "sgd" | "adamw";
  contextLength: number;
  /** Example-level DP on the nodes (always on when it governs; optional under user-level). */
  localDp: { fixedNoise: number | null } | null;
  /** User-level DP-FedAvg on the coordinator (on when it governs, or when --server-noise is given). */
  userDp: { sampleRate: number; updateClip: number; fixedNoise: number | null; adaptive: boolean } | null;
  /** Private federated evaluation on the nodes (off unless asked for; example-level only). */
  federatedEvaluation: EvaluationMechanismSettings | null;
  /** Evaluate every k rounds (and after the last). */
  evaluateEvery: number;
  serverOptimizer: "fedavg" | "fedadam";
  serverLr: number;
}

/** Loss bound of a private evaluation: cross-entropies above it count as the bound. */
export const EVALUATION_LOSS_BOUND = 10;

export const SCHEMES = ["side", "reversible", "lora", "full", "probe", "logreg"] as const;

export const RUN_PLAN_OPTIONS: Record<string, OptionSpec> = {
  scheme: { type: "string", value: "S", description: SCHEMES.join(" | "), default: "side" },
  rounds: { type: "string", value: "N", description: "planned rounds", default: 5 },
  epsilon: { type: "string", value: "E", description: "privacy budget ε of the governed unit", default: 8 },
  delta: { type: "string", value: "D", description: "δ", default: "1e-5" },
  "privacy-unit": {
    type: "string",
    value: "U",
    description: "example | user: which guarantee the budget governs",
    default: "example",
  },
  // Scheme-dependent settings: the scheme's preset (@memarc/train TRAINING_PRESETS) unless given.
  "local-steps": {
    type: "string",
    value: "K",
    description: `local DP-SGD steps per round (${describePresetField("localSteps")})`,
  },
  "local-sample-rate": {
    type: "string",
    value: "Q",
    description:
      "Poisson rate of each node's examples per step, the same for every node (expected batch = Q × examples)",
    default: 0.2,
  },
  "local-batch-size": {
    type: "string",
    value: "B",
    description: `divide each node's noisy gradient sum by B, not by its own Q × examples, which would reveal its size (${describePresetField("localBatchSize")})`,
  },
  "clip-norm": {
    type: "string",
    value: "C",
    description: `per-example clip norm (${describePresetField("clipNorm")})`,
  },
  lr: { type: "string", value: "X", description: `local learning rate (${describePresetField("lr")})` },
  optimizer: {
    type: "string",
    value: "O",
    description: `local optimiser: sgd | adam | adamw (${describePresetField("optimizer")})`,
  },
  context: {
    type: "string",
    value: "T",
    description: `tokens per example (${describePresetField("contextLength")})`,
  },
  "local-noise": {
    type: "string",
    value: "Z",
    description: "fix the nodes' noise multiplier instead of calibrating it",
  },
  "sample-rate": {
    type: "string",
    value: "Q",
    description: "user-level: Poisson node-sampling rate",
    default: 1,
  },
  "update-clip": {
    type: "string",
    value: "S",
    description: "user-level: clip norm of each node's update",
    default: 1,
  },
  "server-noise": {
    type: "string",
    value: "Z",
    description: "user-level: fix the server noise multiplier (enables user-level DP)",
  },
  "adaptive-clip": {
    type: "boolean",
    description: "user-level: adaptive update clipping (Andrew et al. 2021)",
  },
  "federated-eval-noise": {
    type: "string",
    value: "Z",
    description:
      "also evaluate on the nodes' held-out data, as a Gaussian mechanism with noise multiplier Z charged to every node's ε (default: off)",
  },
  "evaluate-every": {
    type: "string",
    value: "K",
    description: "evaluate every K rounds, and after the last",
    default: 1,
  },
  "server-optimizer": { type: "string", value: "O", description: "fedavg | fedadam", default: "fedavg" },
  "server-lr": { type: "string", value: "X", description: "server step size (default 1; fedadam 1e-2)" },
};

export function readRunPlan(flags: Flags): RunPlan {
  const scheme = flags.choice("scheme", SCHEMES)!;
  const preset = presetFor(scheme);
  const privacyUnit = flags.choice("privacy-unit", ["example", "user"] as const)!;
  const serverNoise = flags.number("server-noise", { gt: 0 }) ?? null;
  const localNoise = flags.number("local-noise", { gt: 0 }) ?? null;
  const evalNoise = flags.number("federated-eval-noise", { gt: 0 }) ?? null;
  const serverOptimizer = flags.choice("server-optimizer", ["fedavg", "fedadam"] as const)!;
  const plan: RunPlan = {
    scheme,
    rounds: flags.int("rounds")!,
    epsilon: flags.number("epsilon", { gt: 0 })!,
    delta: flags.number("delta", { gt: 0, lt: 1 })!,
    privacyUnit,
    localSteps: flags.int("local-steps") ?? preset.localSteps,
    localSampleRate: flags.number("local-sample-rate", { gt: 0, max: 1 })!,
    localBatchSize: flags.number("local-batch-size", { gt: 0 }) ?? preset.localBatchSize,
    clipNorm: flags.number("clip-norm", { gt: 0 }) ?? preset.clipNorm,
    learningRate: flags.number("lr", { gt: 0, max: 10 }) ?? preset.lr,
    optimizer: flags.choice("optimizer", ["adam", "adamw", "sgd"] as const) ?? preset.optimizer,
    contextLength: flags.int("context", { min: 2 }) ?? preset.contextLength,
    localDp: privacyUnit === "example" || localNoise !== null ? { fixedNoise: localNoise } : null,
    userDp:
      privacyUnit === "user" || serverNoise !== null
        ? {
            sampleRate: flags.number("sample-rate", { gt: 0, max: 1 })!,
            updateClip: flags.number("update-clip", { gt: 0 })!,
            fixedNoise: serverNoise,
            adaptive: flags.bool("adaptive-clip"),
          }
        : null,
    federatedEvaluation:
      evalNoise === null ? null : { noiseMultiplier: evalNoise, lossBound: EVALUATION_LOSS_BOUND },
    evaluateEvery: flags.int("evaluate-every", { min: 0 })!,
    serverOptimizer,
    serverLr: flags.number("server-lr", { gt: 0 }) ?? (serverOptimizer === "fedadam" ? 1e-2 : 1),
  };
  if (plan.privacyUnit === "user" && plan.userDp === null)
    throw new UsageError("--privacy-unit user needs user-level DP");
  if (plan.federatedEvaluation && plan.privacyUnit === "user")
    throw new UsageError(
      "--federated-eval-noise: federated evaluation is accounted per example; a user-level run evaluates on --test-data only",
    );
  if (plan.federatedEvaluation && !plan.localDp)
    throw new UsageError("--federated-eval-noise needs example-level DP on the nodes");
  return plan;
}

/**
 * The run's optimisation settings, which the coordinator composes with the strategy's DP settings
 * into every node's LocalTrainingPlan (the steps and rate here run only without local DP).
 */
export function trainingSettings(plan: RunPlan): LocalOptimization {
  return localOptimizationFor(plan.scheme, {
    learningRate: plan.learningRate,
    optimizer: plan.optimizer,
    sampleRate: plan.localSampleRate,
    steps: plan.localSteps,
    contextLength: plan.scheme === "logreg" ? null : plan.contextLength,
  });
}

export function buildStrategy(plan: RunPlan): { strategy: Strategy; serverNoise: number | null } {
  const localDp = plan.localDp
    ? calibrateLocalDp({
        epsilon: plan.epsilon,
        delta: plan.delta,
        rounds: plan.rounds,
        stepsPerRound: plan.localSteps,
        sampleRate: plan.localSampleRate,
        expectedBatchSize: plan.localBatchSize,
        perExampleClip: plan.clipNorm,
        fixedNoise: plan.localDp.fixedNoise,
        evaluations: plan.federatedEvaluation
          ? {
              count: plannedEvaluations(plan.rounds, plan.evaluateEvery),
              mechanism: plan.federatedEvaluation,
            }
          : null,
      })
    : null;
  const inner = new FedAvg({ localDp });
  if (!plan.userDp) return { strategy: inner, serverNoise: null };
  const z =
    plan.userDp.fixedNoise ??
    calibrateServerNoise({
      epsilon: plan.epsilon,
      delta: plan.delta,
      rounds: plan.rounds,
      sampleRate: plan.userDp.sampleRate,
    });
  const strategy = new UserLevelDp(inner, {
    noiseMultiplier: z,
    sampleRate: plan.userDp.sampleRate,
    updateClip: plan.userDp.updateClip,
    adaptive: plan.userDp.adaptive ? adaptiveClipFor(z) : null,
    random: secureMechanismRandom(),
  });
  return { strategy, serverNoise: z };
}

export function buildServerOptimizer(plan: RunPlan): ServerOptimizer {
  return plan.serverOptimizer === "fedadam"
    ? new FedAdam({ learningRate: plan.serverLr })
    : new ServerSgd(plan.serverLr);
}

/** What must not change across --resume (the ledger's meaning depends on it). */
export function planFingerprint(plan: RunPlan, modelId: string): string {
  const { rounds: _rounds, ...rest } = plan;
  return JSON.stringify({ ...rest, modelId });
}
