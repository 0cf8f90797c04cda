/**
 * The wire vocabulary. Handshake messages travel as plain (signed) msgpack before a session key exists;
 * every session message travels inside a sealed envelope. Types are plain data so that a coordinator,
 * a client and the in-memory simulator can share them; validation lives in message-schemas.ts.
 *
 * The privacy boundary (docs/privacy.md): every field a node sends is either the output of an
 * accounted mechanism (an update's Δ, a noised evaluation), a value that does not depend on the
 * node's data (its ε, computed from the task's σ, q, steps and δ), or a fact about the machine
 * (backend, memory). No loss, accuracy, norm or example count crosses, so none is in these types.
 */

/**
 * Bumped on any incompatible change to messages, envelope or frame layout. 2: capabilities and
 * updates no longer carry example counts, losses or metrics; evaluation results are noised sums;
 * local DP names its sampling rate; adaptive clipping's bit travels with the update. 3: the round
 * task's training plan is typed field by field (schedule, warm-up, micro-batch, context length; no
 * untyped params), and the two clip norms are named apart (perExampleClip, updateClip).
 */
export const PROTOCOL_VERSION = 3;

/** The only dtype on the wire today; listed so specs can say so explicitly. */
export type DType = "float32";

/** One named tensor: row-major float32 data and its shape (product of shape = data.length). */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** What a receiver expects of a tensor list (names, shapes, dtype), e.g. the Δ of an update. */
export interface TensorSpec {
  name: string;
  shape: readonly number[];
  dtype?: DType;
}

// ---------------------------------------------------------------------------------------------------
// Handshake (plaintext msgpack, authenticated by signatures over the transcript)

export interface Capabilities {
  /** Compute backend the node initialised ("tensorflow", "wasm", "cpu", ...). */
  backend: string;
  /** Memory the node is willing to use for training, in bytes. */
  memoryBytes: number;
  /** Fine-tuning schemes the node can run ("full", "lora", "last-layer", ...). */
  schemes: string[];
}

/** What a side is willing to receive; the peer chunks and sizes its messages to fit. */
export interface ReceiveLimits {
  maxEnvelopeBytes: number;
  maxMessageBytes: number;
}

/** node → coordinator, first message. */
export interface JoinMessage {
  type: "join";
  version: number;
  /** The node's long-term Ed25519 public key: its identity. */
  nodeId: Uint8Array;
  /** Fresh X25519 public key for this connection only. */
  ephemeralKey: Uint8Array;
  capabilities: Capabilities;
  receiveLimits: ReceiveLimits;
}

/** coordinator → node: a fresh nonce, the coordinator's ephemeral key, signed with its long-term key. */
export interface ChallengeMessage {
  type: "challenge";
  version: number;
  /** Coordinator's long-term Ed25519 public key (the node compares it with its pinned key). */
  coordinatorKey: Uint8Array;
  ephemeralKey: Uint8Array;
  nonce: Uint8Array;
  receiveLimits: ReceiveLimits;
  /** Coordinator's signature over the handshake transcript. */
  signature: Uint8Array;
}

/** node → coordinator: the node's signature over the same transcript (plus a token proof when enrolling). */
export interface ResponseMessage {
  type: "response";
  version: number;
  signature: Uint8Array;
  /**
   * Open enrolment only: HMAC-SHA-256(joinToken, transcript). The token itself never travels, so an
   * eavesdropper cannot learn it and a proof cannot be replayed into another handshake.
   */
  tokenProof?: Uint8Array;
}

/** coordinator → node (plaintext): why a handshake was refused, just before disconnecting. */
export interface RefusalMessage {
  type: "refused";
  version: number;
  code: string;
  message: string;
}

export type HandshakeMessage = JoinMessage | ChallengeMessage | ResponseMessage | RefusalMessage;

// ---------------------------------------------------------------------------------------------------
// Session messages (sealed)

/**
 * Differential privacy applied locally while training (DP-SGD on the node). No accountant is named:
 * the node charges its own accountant and the coordinator's ledger is the authoritative one, so a
 * field saying which accountant to use would be one that nothing reads.
 */
export interface LocalDpPlan {
  /** Per-example gradient clip norm C (not the update clip S of user-level DP). */
  perExampleClip: number;
  /** Noise multiplier z > 0: noise std = z·C. */
  noiseMultiplier: number;
  /** The run's δ: the node accounts at it, and refuses a δ larger than its operator accepts. */
  delta: number;
  /**
   * Fixed denominator of the noisy gradient mean (the plan's expected batch), so the update does not
   * scale with the node's example count.
   */
  expectedBatchSize: number;
}

/**
 * Everything a node needs to train one round, typed field by field: the one shape of the local
 * training plan, from the coordinator's flags to the node's DP-SGD driver
 * (@memarc/federation's LocalTrainingPlan is this type).
 */
export interface LocalTrainingPlan {
  /** Local DP-SGD steps this round. */
  steps: number;
  /**
   * Poisson sampling rate q of the node's examples per step. Fixed by the run's plan, never derived
   * from the node's data, so neither the coordinator nor the ledger needs the node's example count.
   */
  sampleRate: number;
  optimizer: "sgd" | "adam" | "adamw";
  learningRate: number;
  schedule: "constant" | "linear" | "cosine";
  warmupSteps: number;
  /** Largest micro-batch through the backward at once (bounds the node's memory, not its result). */
  maxPhysicalBatch: number;
  /** Tokens per example; null for schemes that read no tokens (logreg). */
  contextLength: number | null;
  /** Clip the whole update Δ to this L2 norm S before sending (DP-FedAvg); null: no clipping. */
  updateClip: number | null;
  /**
   * Adaptive clipping: report whether the raw (unclipped) update's norm is at most updateClip.
   * The bit is computed by the node on its raw Δ and released only inside the coordinator's noised
   * count, which the central accountant charges.
   */
  reportUnclipped: boolean;
  /** Local DP-SGD; null when only central (coordinator-side) DP is used. */
  dp: LocalDpPlan | null;
}

/** coordinator → node: train on these weights. */
export interface RoundTaskMessage {
  type: "round_task";
  roundId: number;
  /** Fine-tuning scheme; the weights are exactly its trainable tensors. */
  scheme: string;
  weights: NamedTensor[];
  training: LocalTrainingPlan;
  /** Unix epoch milliseconds by which the update must arrive. */
  deadline: number;
}

/**
 * node → coordinator: Δ = trained − received, one tensor per weight of the round task. Signed.
 * Δ is the output of local DP-SGD (example-level) or the input of the coordinator's user-level
 * mechanism (clipped to S); nothing else about the training travels.
 */
export interface UpdateMessage {
  type: "update";
  roundId: number;
  delta: NamedTensor[];
  /** Local ε spent so far at the round's δ: a function of the tasks' (σ, q, steps), not of the data. */
  epsilonSpent: number;
  /** Adaptive clipping's bit [‖raw Δ‖ ≤ S] when the task asked for it, else null. */
  unclipped: boolean | null;
}

/** The Gaussian mechanism a private evaluation runs under. */
export interface EvaluationMechanism {
  /**
   * Noise multiplier z: each example adds at most (1, 1, 1) to (count, correct, loss/lossBound), an
   * L2 sensitivity of √3, and each of the three sums gets N(0, (z·√3)²) on the lattice.
   */
  noiseMultiplier: number;
  /** Per-example losses are clipped to [0, lossBound] before summing. */
  lossBound: number;
  /** The run's δ (as for training). */
  delta: number;
}

/** coordinator → node: evaluate these weights on local held-out data, privately. */
export interface EvaluateTaskMessage {
  type: "evaluate_task";
  roundId: number;
  weights: NamedTensor[];
  mechanism: EvaluationMechanism;
  deadline: number;
}

/** node → coordinator: noised sums over the held-out examples (each charged to the node's accountant). */
export interface EvaluateResultMessage {
  type: "evaluate_result";
  roundId: number;
  /** Σ 1 + noise. */
  count: number;
  /** Σ [prediction correct] + noise. */
  correct: number;
  /** Σ min(loss, lossBound)/lossBound + noise. */
  scaledLoss: number;
  /** Local ε after this evaluation (data-independent, as in an update). */
  epsilonSpent: number;
}

/** Either side: a message was accepted. `of` names the message type acknowledged. */
export interface AckMessage {
  type: "ack";
  of: "join" | "round_task" | "update" | "evaluate_task" | "evaluate_result" | "bye";
  roundId: number | null;
}

/** Either side: something was rejected. `code` is a protocol code or an application code. */
export interface ErrorMessage {
  type: "error";
  code: string;
  message: string;
  roundId: number | null;
  /** The sender will close the session after this. */
  fatal: boolean;
}

/** Either side: orderly goodbye; the session closes after delivering it. */
export interface ByeMessage {
  type: "bye";
  reason: string;
}

export type CoordinatorMessage =
  | RoundTaskMessage
  | EvaluateTaskMessage
  | AckMessage
  | ErrorMessage
  | ByeMessage;
export type NodeMessage = UpdateMessage | EvaluateResultMessage | AckMessage | ErrorMessage | ByeMessage;
export type SessionMessage = CoordinatorMessage | NodeMessage;
export type SessionMessageType = SessionMessage["type"];

/** Who is speaking; selects the schema set and the envelope direction byte. */
export type Role = "coordinator" | "node";

/** Hard bounds enforced by the validator and the transport. All configurable per channel. */
export interface Limits {
  /** Largest encoded message (all chunks together). Checked against the declared size, before allocation. */
  maxMessageBytes: number;
  /** Largest single envelope on the wire (one chunk). Keep well under socket.io's maxHttpBufferSize. */
  maxEnvelopeBytes: number;
  maxTensors: number;
  maxTensorValues: number;
  maxRank: number;
  maxNameLength: number;
  maxStringLength: number;
  maxSchemes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxMessageBytes: 256 * 1024 * 1024,
  maxEnvelopeBytes: 512 * 1024,
  maxTensors: 4096,
  maxTensorValues: 64 * 1024 * 1024,
  maxRank: 8,
  maxNameLength: 256,
  maxStringLength: 1024,
  maxSchemes: 32,
});
