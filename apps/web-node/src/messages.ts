/** What the page and its training Worker say to each other (postMessage, never the network). */
import type { NodeKey } from "./node-key.js";
import type { RunInfo } from "./run-info.js";

export interface JoinRequest {
  type: "join";
  run: RunInfo;
  /** Where run.json was fetched from; model files are next to it. */
  base: string;
  /** The node's key, as IndexedDB keeps it (a non-extractable CryptoKey where the browser can). */
  nodeKey: NodeKey;
  /** The person's file, read in the page: its name and text. It stays in this browser. */
  file: { name: string; text: string };
  /** The person's own ε ceiling for this file (null: none). */
  maxEpsilon: number | null;
  /** The largest δ the person accepts for the run. */
  maxDelta: number;
  /** Accept user-level tasks without local noise (the coordinator adds it). */
  acceptCentralDp: boolean;
  joinToken?: string;
  /** tfjs backend to ask for: "auto" tries webgpu → webgl → wasm → cpu. */
  backend: string;
  /**
   * DP-step Web Workers (clip-worker.js) when the backend is wasm or cpu: a step's micro-batches
   * are clipped on them, the noise is added once here. 1: the training Worker itself.
   */
  threads: number;
  /** IndexedDB database that holds this node's accountant. */
  database: string;
}

export type ToWorker = JoinRequest | { type: "leave" };

export type WorkerStatus =
  | { type: "status"; text: string }
  | { type: "backend"; name: string; provider: string; skipped: string[] }
  | { type: "prepare"; done: number; total: number }
  | { type: "step"; round: number; step: number; steps: number }
  | { type: "round"; round: number; epsilon: number | null }
  | { type: "evaluated"; round: number; epsilon: number | null }
  | { type: "refused"; round: number; code: string; message: string }
  | { type: "connected" }
  | { type: "disconnected"; reason: string }
  | { type: "finished"; reason: string; roundsTrained: number; epsilon: number | null }
  | { type: "error"; code: string; message: string };
