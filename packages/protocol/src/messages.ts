/**
 * The wire vocabulary. Handshake messages travel as plain (signed) msgpack before a session key exists;
 * every session message travels inside a sealed envelope. Types are plain data so that a coordinator,
 * a client and the in-memory simulator can share them; validation lives in message-schemas.ts.
 */

/** Bumped on any incompatible change to messages, envelope or frame layout. */
export const PROTOCOL_VERSION = 1;

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
  /**
   * Training examples the node holds. The coordinator's accountant needs it (q = batch / examples);
   * like the dataset size in DP-SGD, it is treated as public.
   */
  examples: number;
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

/** Differential privacy applied locally while training (DP-SGD on the node). */
export interface LocalDpConfig {
  /** Per-example gradient clip norm C. */
  clipNorm: number;
  /** Noise multiplier z: noise std = z·C. */
  noiseMultiplier: number;
  /** Target δ for reporting ε. */
  delta: number;
  /** Poisson sampling rate q = expected batch / local dataset size (the node computes it if absent). */
  sampleRate?: number;
  accountant: "rdp" | "pld";
  /** Stop local training before local ε would exceed this. */
  maxEpsilon?: number;
}

export interface LocalTrainingConfig {
  /** Local passes over the node's data. */
  epochs: number;
  /** Upper bound on optimizer steps this round (null: no bound beyond epochs). */
  maxSteps: number | null;
  /** (Expected, with Poisson sampling) batch size. */
  batchSize: number;
  learningRate: number;
  optimizer: "sgd" | "momentum" | "adam" | "adamw";
  weightDecay?: number;
  /** Clip the whole update Δ to this L2 norm before sending (DP-FedAvg's S); null: no clipping. */
  updateClipNorm: number | null;
  /** Local DP-SGD; null when only central (coordinator-side) DP is used. */
  dp: LocalDpConfig | null;
  /** Scheme-specific scalars (e.g. lora rank), bounded and flat. */
  params?: Record<string, number | string | boolean>;
}

/** coordinator → node: train on these weights. */
export interface RoundTaskMessage {
  type: "round_task";
  roundId: number;
  /** Fine-tuning scheme; the weights are exactly its trainable tensors. */
  scheme: string;
  weights: NamedTensor[];
  training: LocalTrainingConfig;
  /** Unix epoch milliseconds by which the update must arrive. */
  deadline: number;
}

/** node → coordinator: Δ = trained − received, one tensor per weight of the round task. Signed. */
export interface UpdateMessage {
  type: "update";
  roundId: number;
  delta: NamedTensor[];
  /** Number of local examples the update was computed from (weights FedAvg). */
  numExamples: number;
  /** Local ε spent so far under the round's δ (0 without local DP). */
  epsilonSpent: number;
  metrics: Record<string, number>;
}

/** coordinator → node: evaluate these weights on local held-out data. */
export interface EvaluateTaskMessage {
  type: "evaluate_task";
  roundId: number;
  weights: NamedTensor[];
  /** Cap on examples evaluated (null: all). */
  maxExamples: number | null;
  deadline: number;
}

export interface EvaluateResultMessage {
  type: "evaluate_result";
  roundId: number;
  numExamples: number;
  loss: number;
  metrics: Record<string, number>;
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
  maxMetrics: number;
  maxSchemes: number;
  maxParams: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxMessageBytes: 256 * 1024 * 1024,
  maxEnvelopeBytes: 512 * 1024,
  maxTensors: 4096,
  maxTensorValues: 64 * 1024 * 1024,
  maxRank: 8,
  maxNameLength: 256,
  maxStringLength: 1024,
  maxMetrics: 64,
  maxSchemes: 32,
  maxParams: 64,
});
