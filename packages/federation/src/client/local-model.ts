/**
 * What a node trains: a TrainableModel (DP-SGD engine view) whose trainable weights can be
 * exchanged with the coordinator as named flat Float32Arrays, and evaluated on the node's
 * held-out split.
 */
import type { Evaluation, TrainableModel } from "@memarc/train";
import type { Weights } from "../weights.js";

export interface LocalModel extends TrainableModel {
  /** Number of training examples the model's gradient functions index into (never sent). */
  readonly numTrainExamples: number;
  /** Whether the node holds held-out examples to evaluate on. */
  readonly hasHeldOut: boolean;
  getWeights(): Weights;
  setWeights(w: Weights): void;
  /** The current weights on the node's held-out examples (null without any). Raw: the caller privatises. */
  evaluate(): Evaluation | null;
  /** Compute ahead of the first evaluation what it needs (side: held-out features on the fast engine). */
  prepareEvaluation?(): Promise<void>;
  /** Free its tensors and worker threads (NodeRunner calls it when its run ends). */
  dispose?(): void;
}
