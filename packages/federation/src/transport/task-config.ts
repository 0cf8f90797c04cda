/**
 * Translation between the round loop's types (FitRequest, Weights) and the wire messages of
 * @memarc/protocol (RoundTaskMessage, NamedTensor[]). The only place that knows both vocabularies;
 * the training plan crosses field for field (its scheme rides at the message's top level).
 */
import type { NamedTensor, RoundTaskMessage } from "@memarc/protocol";
import type { FitRequest } from "../coordinator/node-pool.js";
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

/** Coordinator side: a FitRequest → the round_task message. */
export function toRoundTask(req: FitRequest, shapes: ShapeMap): RoundTaskMessage {
  const { scheme, ...training } = req.plan;
  return {
    type: "round_task",
    roundId: req.round,
    scheme,
    weights: toNamedTensors(req.weights, shapes),
    training,
    deadline: req.deadline,
  };
}

/** Node side: the round_task message (already checked by the protocol's schema) → a FitRequest. */
export function fromRoundTask(msg: RoundTaskMessage): FitRequest {
  return {
    round: msg.roundId,
    weights: fromNamedTensors(msg.weights),
    plan: { scheme: msg.scheme, ...msg.training },
    deadline: msg.deadline,
  };
}
