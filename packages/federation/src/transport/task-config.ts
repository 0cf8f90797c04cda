/**
 * Translation between the round loop's types (FitRequest, Weights) and the wire messages of
 * @memarc/protocol (RoundTaskMessage, NamedTensor[]). The only place that knows both vocabularies.
 */
import type { LocalTrainingConfig, NamedTensor, RoundTaskMessage } from "@memarc/protocol";
import type { FitRequest } from "../coordinator/node-pool.js";
import type { FitConfig } from "../strategy/types.js";
import type { Weights } from "../weights.js";

/** Tensor shapes by name (the model's trainable parameters). */
export type ShapeMap = Record<string, readonly number[]>;

export function toNamedTensors(w: Weights, shapes: ShapeMap): NamedTensor[] {
  return Object.keys(w)
    .sort()
    .map((name) => {
      const data = w[name]!;
      const shape = shapes[name] ?? [data.length];
      return { name, shape: [...shape], data };
    });
}

export function fromNamedTensors(ts: readonly NamedTensor[]): Weights {
  const out: Weights = {};
  for (const t of ts) out[t.name] = t.data;
  return out;
}

const num = (v: unknown, fallback: number): number =>
  typeof v === "number" && Number.isFinite(v) ? v : fallback;

/** Settings forwarded as scheme params (flat scalars the node's model and trainer read). */
const FORWARDED_PARAMS = ["schedule", "maxPhysicalBatch", "warmupSteps", "contextLength"] as const;

/** Coordinator side: a FitRequest (strategy config + training settings) → the round_task message. */
export function toRoundTask(req: FitRequest, shapes: ShapeMap, delta: number): RoundTaskMessage {
  const c = req.config;
  const dp = c.localDp;
  const params: Record<string, number | string | boolean> = {};
  for (const k of FORWARDED_PARAMS) {
    const v = c[k];
    if (typeof v === "number" || typeof v === "string") params[k] = v;
  }
  const training: LocalTrainingConfig = {
    steps: dp ? dp.steps : num(c.steps, 20),
    sampleRate: dp ? dp.sampleRate : num(c.sampleRate, 0.05),
    learningRate: num(c.learningRate, 1e-3),
    optimizer: c.optimizer === "adam" || c.optimizer === "adamw" ? c.optimizer : "sgd",
    updateClipNorm: c.updateClipNorm,
    ...(c.reportUnclipped ? { reportUnclipped: true } : {}),
    dp: dp
      ? {
          clipNorm: dp.clipNorm,
          noiseMultiplier: dp.noiseMultiplier,
          delta,
          expectedBatchSize: dp.expectedBatchSize,
          accountant: "rdp",
        }
      : null,
    params,
  };
  return {
    type: "round_task",
    roundId: req.round,
    scheme: typeof c.scheme === "string" ? c.scheme : "side",
    weights: toNamedTensors(req.weights, shapes),
    training,
    deadline: req.deadline,
  };
}

/** Node side: the round_task message → a FitRequest for the LocalTrainer. */
export function fromRoundTask(msg: RoundTaskMessage): FitRequest {
  const t = msg.training;
  const localDp: FitConfig["localDp"] = t.dp
    ? {
        noiseMultiplier: t.dp.noiseMultiplier,
        clipNorm: t.dp.clipNorm,
        sampleRate: t.sampleRate,
        expectedBatchSize: t.dp.expectedBatchSize,
        steps: t.steps,
      }
    : null;
  const config: FitConfig = {
    ...(t.params ?? {}),
    localDp,
    updateClipNorm: t.updateClipNorm,
    reportUnclipped: t.reportUnclipped === true,
    scheme: msg.scheme,
    learningRate: t.learningRate,
    optimizer: t.optimizer,
    steps: t.steps,
    sampleRate: t.sampleRate,
  };
  return { round: msg.roundId, weights: fromNamedTensors(msg.weights), config, deadline: msg.deadline };
}
