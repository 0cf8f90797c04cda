/** Test support: one valid instance of every session message. */
import type {
  AckMessage,
  ByeMessage,
  ErrorMessage,
  EvaluateResultMessage,
  EvaluateTaskMessage,
  NamedTensor,
  RoundTaskMessage,
  UpdateMessage,
} from "../messages.js";

export function tensors(seed = 1, big = 0): NamedTensor[] {
  const a = new Float32Array(12).map((_, i) => (i + seed) * 0.25);
  const b = new Float32Array(5).map((_, i) => -i * seed);
  const out: NamedTensor[] = [
    { name: "h.0.attn.c_attn.lora_A", shape: [3, 4], data: a },
    { name: "h.0.attn.c_attn.lora_B", shape: [5], data: b },
  ];
  if (big > 0)
    out.push({ name: "big", shape: [big], data: new Float32Array(big).map((_, i) => Math.sin(i)) });
  return out;
}

export function roundTask(roundId = 7, big = 0): RoundTaskMessage {
  return {
    type: "round_task",
    roundId,
    scheme: "lora",
    weights: tensors(1, big),
    training: {
      steps: 100,
      sampleRate: 0.01,
      optimizer: "adamw",
      learningRate: 1e-3,
      schedule: "cosine",
      warmupSteps: 5,
      maxPhysicalBatch: 16,
      contextLength: 96,
      updateClip: 1.5,
      reportUnclipped: false,
      dp: {
        perExampleClip: 1,
        noiseMultiplier: 1.1,
        delta: 1e-5,
        expectedBatchSize: 64,
      },
    },
    deadline: 1_900_000_000_000,
  };
}

export function update(roundId = 7, big = 0): UpdateMessage {
  return {
    type: "update",
    roundId,
    delta: tensors(2, big),
    epsilonSpent: 0.75,
    unclipped: true,
  };
}

export function evaluateTask(roundId = 7): EvaluateTaskMessage {
  return {
    type: "evaluate_task",
    roundId,
    weights: tensors(3),
    mechanism: { noiseMultiplier: 2, lossBound: 10, delta: 1e-5 },
    deadline: 1_900_000_000_000,
  };
}

export function evaluateResult(roundId = 7): EvaluateResultMessage {
  return {
    type: "evaluate_result",
    roundId,
    count: 501.25,
    correct: 420.5,
    scaledLoss: 33.75,
    epsilonSpent: 1.5,
  };
}

export const ack: AckMessage = { type: "ack", of: "update", roundId: 7 };
export const error: ErrorMessage = {
  type: "error",
  code: "E_BUDGET_EXHAUSTED",
  message: "ε budget spent",
  roundId: null,
  fatal: false,
};
export const bye: ByeMessage = { type: "bye", reason: "training finished" };
