/** The fine-tuning scheme interface shared by full, lora, side and reversible. */
import type * as tf from "@tensorflow/tfjs";
import type { BackboneConfig } from "../core/backbone.js";

export type Objective = "classify" | "lm";
export type SchemeKind = "full" | "lora" | "side" | "reversible";

export interface Batch {
  /** int32 [B,T] token ids, right-padded. */
  inputIds: tf.Tensor2D;
  /** float32 [B,T]: 1 for real tokens, 0 for padding. */
  attentionMask: tf.Tensor2D;
  /** int32 [B] class labels (objective "classify"). */
  labels?: tf.Tensor1D;
  /** Side scheme only: precomputed frozen-backbone features (see SideScheme.sideFeatures). */
  features?: import("./side-features.js").SideFeatures;
}

export interface StepOptions {
  /** Clipping threshold C (Infinity = no clipping). */
  clipNorm: number;
  objective: Objective;
  /** Seed for replayable dropout masks (default: an internal step counter). */
  dropoutSeed?: number;
}

export interface ClippedGradients {
  /** Σ_i min(1, C/‖g_i‖)·g_i per trainable parameter (caller owns and disposes). */
  clippedSum: Record<string, tf.Tensor>;
  /** ‖g_i‖ over all trainable parameters, per example. */
  norms: Float32Array;
  /** Mean per-example loss of the batch. */
  loss: number;
}

export interface PlainGradients {
  /** Σ_i g_i (gradient of the summed per-example loss); caller disposes. */
  grads: Record<string, tf.Tensor>;
  loss: number;
}

export interface SchemeOptions {
  numClasses: number;
  /** Seed for initialising new (non-backbone) parameters; reproducibility only. */
  initSeed?: number;
  /** Dropout probability inside trainable/backbone blocks during training (default 0). */
  dropout?: number;
}

export interface Scheme {
  readonly kind: SchemeKind;
  readonly config: BackboneConfig;
  readonly numClasses: number;
  /** Trainable parameters by name (tf.Variables; update them with `.assign`). */
  readonly trainable: Map<string, tf.Variable>;
  trainableParamCount(): number;
  /** Per-example losses [B] (forward only, no dropout). "lm" needs a causal backbone (E_OBJECTIVE). */
  perExampleLoss(batch: Batch, objective: Objective): tf.Tensor1D;
  /** Classification logits [B,numClasses] (inference). */
  classify(batch: Batch): tf.Tensor2D;
  /** DP step: per-example norms and the clipped sum by book-keeping. */
  clippedGradients(batch: Batch, opts: StepOptions): ClippedGradients;
  /** The same step without DP: the plain summed gradient, no per-example work. */
  gradients(batch: Batch, objective: Objective, dropoutSeed?: number): PlainGradients;
  exportTrainable(): Record<string, Float32Array>;
  importTrainable(weights: Record<string, Float32Array>): void;
  dispose(): void;
}
