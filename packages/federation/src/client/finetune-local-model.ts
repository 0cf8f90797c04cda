/**
 * Any fine-tuning scheme of @memarc/train (side, reversible, lora, full, logreg) as a node's
 * LocalModel: bound once to the node's training split (for side this computes the frozen
 * backbone's features once), evaluated on the node's held-out split.
 */
import type {
  BindOptions,
  ClippedBatch,
  Evaluation,
  FinetuneScheme,
  LabelledTexts,
  PlainBatch,
  TrainableModel,
} from "@memarc/train";
import type { Weights } from "../weights.js";
import type { LocalModel } from "./local-model.js";

export class FinetuneLocalModel implements LocalModel {
  private readonly bound: TrainableModel;
  private readonly evaluateHeldOut: (() => Evaluation) | null;

  constructor(
    readonly scheme: FinetuneScheme,
    private readonly train: LabelledTexts,
    heldOut: LabelledTexts | null,
    bind: BindOptions,
  ) {
    this.bound = scheme.bind(train.texts, train.labels, bind);
    // The held-out split is evaluated every round: prepare it once (for side, its backbone features).
    this.evaluateHeldOut =
      heldOut && heldOut.labels.length > 0
        ? scheme.prepareEvaluation(heldOut.texts, heldOut.labels, bind)
        : null;
  }

  get params() {
    return this.bound.params;
  }

  get numTrainExamples(): number {
    return this.train.labels.length;
  }

  clippedGradients(indices: Int32Array, clipNorm: number): ClippedBatch {
    return this.bound.clippedGradients(indices, clipNorm);
  }

  gradients(indices: Int32Array): PlainBatch {
    return this.bound.gradients(indices);
  }

  getWeights(): Weights {
    return this.scheme.exportTrainable();
  }

  setWeights(w: Weights): void {
    this.scheme.importTrainable(w);
  }

  get hasHeldOut(): boolean {
    return this.evaluateHeldOut !== null;
  }

  evaluate(): Evaluation | null {
    return this.evaluateHeldOut ? this.evaluateHeldOut() : null;
  }

  dispose(): void {
    this.scheme.dispose();
  }
}
