/** The coordinator's durable state: its shape and version (node/state-store.ts writes and reads it). */
import type { LedgerEvent } from "../strategy/types.js";
import type { Weights } from "../weights.js";
import type { LedgerJson } from "./ledger.js";

/** 2: checksums, and every round's privacy events in its history record. */
export const STATE_VERSION = 2;

export interface WeightsCodec {
  encode(w: Weights): Uint8Array;
  decode(bytes: Uint8Array): Weights;
}

export interface NodeRecord {
  firstSeen: string;
  lastSeen: string;
  roundsCompleted: number;
  rejectedMessages: number;
}

export interface RoundRecord {
  round: number;
  participants: string[];
  failures: { nodeId: string; reason: string }[];
  metrics: Record<string, number>;
  /** ε spent after this round, per unit in use (null: unit not in use). */
  epsilon: { example: number | null; user: number | null };
  seconds: number;
  /** What the round (and its evaluation) charged: the ledger must cover the sum of these. */
  events: LedgerEvent[];
}

export interface CoordinatorState {
  version: number;
  /** Identifies the run's settings; resuming with a different model/scheme is refused. */
  fingerprint: string;
  /** Last round whose aggregate was applied and saved (0: none yet). */
  completedRound: number;
  /** A round whose privacy events are recorded but whose aggregate was not saved (crash or abort). */
  dispatchedRound: number | null;
  ledger: LedgerJson;
  strategy: Record<string, unknown>;
  optimizer: Record<string, unknown>;
  nodes: Record<string, NodeRecord>;
  history: RoundRecord[];
  weightsFile: string | null;
  /** SHA-256 (hex) of the weights file's bytes. */
  weightsSha256: string | null;
  stopReason: string | null;
}
