/**
 * What the DP-step worker threads and the thread that owns the model say to each other. Typed
 * arrays travel as transferables (moved, not copied) wherever the sender does not keep them.
 */
import type { SchemeKind } from "@memarc/models";
import type { BackboneFiles } from "../finetune/backbone.js";
import type { CreateSchemeOptions } from "../finetune/schemes.js";

/**
 * Where a worker loads the owner's backbone from: the same directory (Node), or the same files'
 * contents (a browser node, whose backbone was fetched from the coordinator).
 */
export type BackboneSource = { dir: string } | { files: BackboneFiles };

/** How a worker rebuilds the owner's scheme: same backbone, kind and shapes. */
export interface WorkerSetup {
  backbone: BackboneSource;
  kind: SchemeKind;
  scheme: CreateSchemeOptions;
  objective: "classify" | "lm";
}

/**
 * One micro-batch as plain arrays: token rows and labels, and for side the frozen-backbone
 * features as F16 bits, one buffer per hidden state ([count·length·width] each).
 */
export interface MicroBatch {
  count: number;
  length: number;
  ids: Int32Array;
  lengths: Int32Array;
  labels: Int32Array;
  features: Uint16Array[] | null;
  width: number;
}

export interface WeightsUpdate {
  /** Unique in the process (not per model), so two models sharing a pool never confuse theirs. */
  version: number;
  values: Record<string, Float32Array>;
}

/** Token rows whose frozen-backbone features a worker computes (side `prepare` without an engine). */
export interface FeatureRows {
  count: number;
  length: number;
  ids: Int32Array;
  lengths: Int32Array;
}

/** A share of a release's integer noise: `count` draws of a `dimension`-dimensional release's plan. */
export interface NoiseShare {
  dimension: number;
  count: number;
  std: number;
  sensitivity: number;
}

export type ToWorker =
  | {
      type: "features";
      id: number;
      rows: FeatureRows;
    }
  | { type: "noise"; id: number; share: NoiseShare }
  | {
      type: "run";
      id: number;
      /** "clipped": Σ clip_C(∇ℓᵢ) and the norms; "plain": Σ ∇ℓᵢ (non-private training). */
      mode: "clipped" | "plain";
      clipNorm: number;
      batch: MicroBatch;
      /** Present when the worker's copy of the trainable weights is older than the owner's. */
      weights: WeightsUpdate | null;
    }
  | {
      /** Evaluation: the classifier's logits of a micro-batch under the owner's current weights. */
      type: "classify";
      id: number;
      batch: MicroBatch;
      weights: WeightsUpdate | null;
    };

/** A browser Worker has no `workerData`: its setup is the first message it receives. */
export type SetupMessage = { type: "setup"; setup: WorkerSetup };

export type FromWorker =
  | { type: "ready" }
  | {
      type: "result";
      id: number;
      sums: Record<string, Float32Array>;
      norms: Float32Array | null;
      lossSum: number;
    }
  | {
      type: "logits";
      id: number;
      /** Row-major [count, classes]. */
      logits: Float32Array;
    }
  | {
      type: "features";
      id: number;
      /** One buffer per hidden state, [count·length·width] F16 bits (the FeatureCache layout, packed). */
      layers: Uint16Array[];
    }
  | {
      type: "noise";
      id: number;
      /** The share's draws (integers in grid units), from the worker's CSPRNG. */
      values: Float64Array;
    }
  | { type: "error"; id: number | null; message: string };
