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

/** Coordinator side: a FitRequest (strategy config + training settings) → the round_task message. */
export function toRoundTask(req: FitRequest, shapes: ShapeMap, delta: number): RoundTaskMessage {
  const c = req.config;
  const dp = c.localDp;
  const steps = dp ? dp.steps : num(c.steps, 20);
  const batchSize = num(c.batchSize, 32);
  const optimizer = c.optimizer === "adam" || c.optimizer === "adamw" ? c.optimizer : "momentum";
  const params: Record<string, number | string | boolean> = {};
  for (const k of ["schedule", "maxPhysicalBatch", "warmupSteps"] as const) {
    const v = c[k];
    if (typeof v === "number" || typeof v === "string") params[k] = v;
  }
  const training: LocalTrainingConfig = {
    // Informational on the wire (maxSteps is authoritative); the schema wants a whole number ≥ 1.
    epochs: dp ? Math.max(1, Math.ceil(steps * dp.sampleRate)) : 1,
    maxSteps: steps,
    batchSize,
    learningRate: num(c.learningRate, 1e-3),
    optimizer,
    updateClipNorm: c.updateClipNorm,
    dp: dp
      ? {
          clipNorm: dp.clipNorm,
          noiseMultiplier: dp.noiseMultiplier,
          delta,
          sampleRate: dp.sampleRate,
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
export function fromRoundTask(msg: RoundTaskMessage, numExamples: number): FitRequest {
  const t = msg.training;
  const steps = t.maxSteps ?? Math.max(1, Math.round((t.epochs * numExamples) / t.batchSize));
  const localDp: FitConfig["localDp"] = t.dp
    ? {
        noiseMultiplier: t.dp.noiseMultiplier,
        clipNorm: t.dp.clipNorm,
        sampleRate: t.dp.sampleRate ?? Math.min(1, t.batchSize / Math.max(1, numExamples)),
        steps,
      }
    : null;
  const config: FitConfig = {
    localDp,
    updateClipNorm: t.updateClipNorm,
    scheme: msg.scheme,
    learningRate: t.learningRate,
    optimizer: t.optimizer === "adam" || t.optimizer === "adamw" ? t.optimizer : "sgd",
    steps,
    batchSize: t.batchSize,
    ...(t.params ?? {}),
  };
  return { round: msg.roundId, weights: fromNamedTensors(msg.weights), config, deadline: msg.deadline };
}
