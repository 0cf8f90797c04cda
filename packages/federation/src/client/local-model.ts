/**
 * What a node trains: a TrainableModel (DP-SGD engine view) whose trainable weights can be
 * exchanged with the coordinator as named flat Float32Arrays, and evaluated on the node's
 * held-out split.
 */
import type { TrainableModel } from "@memarc/train";
import type { Weights } from "../weights.js";

export interface LocalModel extends TrainableModel {
  /** Number of training examples the model's gradient functions index into. */
  readonly numTrainExamples: number;
  getWeights(): Weights;
  setWeights(w: Weights): void;
  /** Metrics on the node's held-out examples (accuracy, loss). */
  evaluate(): { numExamples: number; metrics: Record<string, number> };
}
