/**
 * A federated run's settings, from flags, turned into a strategy and the noise it dictates.
 *
 * Example-level (the default): each node's examples are protected by its own DP-SGD. A node with N
 * examples samples with q = B/N, so its noise multiplier is calibrated for ITS q such that R planned
 * rounds of K local steps stay within (ε, δ) — larger nodes get less noise. The ledger then stops
 * the run if anything (a resume, an extra round) would take any node past the budget.
 *
 * User-level: DP-FedAvg's server noise z is calibrated for R rounds at node-sampling rate q.
 */

import {
  FedAdam,
  FedAvg,
  type FitConfig,
  type NodeInfo,
  type PrivacyUnit,
  type ServerOptimizer,
  ServerSgd,
  type Strategy,
  secureMechanismRandom,
  UserLevelDp,
} from "@memarc/federation";
import { calibrateNoiseMultiplier } from "@memarc/privacy";
import type { FinetuneSchemeKind } from "@memarc/train";
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
  batchSize: number;
  clipNorm: number;
  learningRate: number;
  optimizer: "adam" | "sgd" | "adamw";
  contextLength: number;
  /** Example-level DP on the nodes (always on when it governs; optional under user-level). */
  localDp: { fixedNoise: number | null } | null;
  /** User-level DP-FedAvg on the coordinator (on when it governs, or when --server-noise is given). */
  userDp: { sampleRate: number; updateClip: number; fixedNoise: number | null; adaptive: boolean } | null;
  serverOptimizer: "fedavg" | "fedadam";
  serverLr: number;
}

export const SCHEMES = ["side", "reversible", "lora", "full", "logreg"] as const;

export const RUN_PLAN_OPTIONS: Record<string, OptionSpec> = {
  scheme: {
    type: "string",
    value: "S",
    description: "side | reversible | lora | full | logreg (default side)",
  },
  rounds: { type: "string", value: "N", description: "planned rounds (default 5)" },
  epsilon: { type: "string", value: "E", description: "privacy budget ε of the governed unit (default 8)" },
  delta: { type: "string", value: "D", description: "δ (default 1e-5)" },
  "privacy-unit": {
    type: "string",
    value: "U",
    description: "example | user: which guarantee the budget governs (default example)",
  },
  "local-steps": { type: "string", value: "K", description: "local DP-SGD steps per round (default 40)" },
  "batch-size": {
    type: "string",
    value: "B",
    description: "expected local batch size (Poisson sampling; default 64)",
  },
  "clip-norm": { type: "string", value: "C", description: "per-example clip norm (default 1)" },
  lr: { type: "string", value: "X", description: "local learning rate (default 3e-3)" },
  optimizer: {
    type: "string",
    value: "O",
    description: "local optimiser: adam | adamw | sgd (default adam)",
  },
  context: { type: "string", value: "T", description: "tokens per example (default 128)" },
  "local-noise": {
    type: "string",
    value: "Z",
    description: "fix the nodes' noise multiplier instead of calibrating it",
  },
  "sample-rate": {
    type: "string",
    value: "Q",
    description: "user-level: Poisson node-sampling rate (default 1)",
  },
  "update-clip": {
    type: "string",
    value: "S",
    description: "user-level: clip norm of each node's update (default 1)",
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
  "server-optimizer": { type: "string", value: "O", description: "fedavg | fedadam (default fedavg)" },
  "server-lr": { type: "string", value: "X", description: "server step size (default 1; fedadam 1e-2)" },
};

export function readRunPlan(flags: Flags, defaults: Partial<RunPlan> = {}): RunPlan {
  const privacyUnit = flags.choice(
    "privacy-unit",
    ["example", "user"] as const,
    defaults.privacyUnit ?? "example",
  )!;
  const serverNoise = flags.number("server-noise", { gt: 0 }) ?? null;
  const localNoise = flags.number("local-noise", { gt: 0 }) ?? null;
  const serverOptimizer = flags.choice("server-optimizer", ["fedavg", "fedadam"] as const, "fedavg")!;
  const plan: RunPlan = {
    scheme: flags.choice("scheme", SCHEMES, defaults.scheme ?? "side")!,
    rounds: flags.int("rounds") ?? defaults.rounds ?? 5,
    epsilon: flags.number("epsilon", { gt: 0 }) ?? defaults.epsilon ?? 8,
    delta: flags.number("delta", { gt: 0, lt: 1 }) ?? defaults.delta ?? 1e-5,
    privacyUnit,
    localSteps: flags.int("local-steps") ?? defaults.localSteps ?? 40,
    batchSize: flags.int("batch-size") ?? defaults.batchSize ?? 64,
    clipNorm: flags.number("clip-norm", { gt: 0 }) ?? defaults.clipNorm ?? 1,
    learningRate: flags.number("lr", { gt: 0, max: 10 }) ?? defaults.learningRate ?? 3e-3,
    optimizer: flags.choice("optimizer", ["adam", "adamw", "sgd"] as const, defaults.optimizer ?? "adam")!,
    contextLength: flags.int("context", { min: 2 }) ?? defaults.contextLength ?? 128,
    localDp: privacyUnit === "example" || localNoise !== null ? { fixedNoise: localNoise } : null,
    userDp:
      privacyUnit === "user" || serverNoise !== null
        ? {
            sampleRate: flags.number("sample-rate", { gt: 0, max: 1 }) ?? 1,
            updateClip: flags.number("update-clip", { gt: 0 }) ?? 1,
            fixedNoise: serverNoise,
            adaptive: flags.bool("adaptive-clip"),
          }
        : null,
    serverOptimizer,
    serverLr: flags.number("server-lr", { gt: 0 }) ?? (serverOptimizer === "fedadam" ? 1e-2 : 1),
  };
  if (plan.privacyUnit === "user" && plan.userDp === null)
    throw new UsageError("--privacy-unit user needs user-level DP");
  return plan;
}

/** Settings merged into every round task (what the node's LocalTrainer reads). */
export function trainingSettings(plan: RunPlan): Record<string, unknown> {
  return {
    scheme: plan.scheme,
    learningRate: plan.learningRate,
    optimizer: plan.optimizer,
    batchSize: plan.batchSize,
    steps: plan.localSteps,
    maxPhysicalBatch: 32,
    contextLength: plan.contextLength,
  };
}

/** Per-node calibrated local DP (cached per sampling rate: calibration costs a few ms). */
function localDpFor(plan: RunPlan): (node: NodeInfo) => FitConfig["localDp"] {
  const cache = new Map<number, number>();
  return (node) => {
    if (!plan.localDp) return null;
    if (!(node.numExamples > 0)) throw new UsageError(`node ${node.id} reported no training examples`);
    const q = Math.min(1, plan.batchSize / node.numExamples);
    let z = plan.localDp.fixedNoise ?? cache.get(q);
    if (z === undefined) {
      z = calibrateNoiseMultiplier({
        targetEpsilon: plan.epsilon,
        delta: plan.delta,
        sampleRate: q,
        steps: plan.rounds * plan.localSteps,
      }).noiseMultiplier;
      cache.set(q, z);
    }
    return { noiseMultiplier: z, clipNorm: plan.clipNorm, sampleRate: q, steps: plan.localSteps };
  };
}

export function buildStrategy(plan: RunPlan): { strategy: Strategy; serverNoise: number | null } {
  const inner = new FedAvg({ localDp: localDpFor(plan) });
  if (!plan.userDp) return { strategy: inner, serverNoise: null };
  const z =
    plan.userDp.fixedNoise ??
    calibrateNoiseMultiplier({
      targetEpsilon: plan.epsilon,
      delta: plan.delta,
      sampleRate: plan.userDp.sampleRate,
      steps: plan.rounds,
    }).noiseMultiplier;
  const strategy = new UserLevelDp(inner, {
    noiseMultiplier: z,
    sampleRate: plan.userDp.sampleRate,
    clipNorm: plan.userDp.updateClip,
    adaptive: plan.userDp.adaptive
      ? { targetQuantile: 0.5, learningRate: 0.2, countNoiseStd: Math.max(z, 1) }
      : null,
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
