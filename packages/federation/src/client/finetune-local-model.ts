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
  /** Prepared on the first private evaluation (most runs never evaluate on nodes). */
  private evaluateHeldOut: (() => Evaluation) | null = null;

  constructor(
    readonly scheme: FinetuneScheme,
    private readonly train: LabelledTexts,
    private readonly heldOut: LabelledTexts | null,
    private readonly bindOptions: BindOptions,
  ) {
    this.bound = scheme.bind(train.texts, train.labels, bindOptions);
  }

  /**
   * Bind after computing what the scheme needs ahead of time (side: the frozen-backbone features of
   * the training split, on `bind.frozen` — e.g. ONNX Runtime — when given).
   */
  static async create(
    scheme: FinetuneScheme,
    train: LabelledTexts,
    heldOut: LabelledTexts | null,
    bind: BindOptions,
  ): Promise<FinetuneLocalModel> {
    await scheme.prepare(train.texts, train.labels, bind);
    return new FinetuneLocalModel(scheme, train, heldOut, bind);
  }

  get params() {
    return this.bound.params;
  }

  /** The scheme's worker threads for DP steps, when it was bound with `threads` > 1. */
  get parallel() {
    return this.bound.parallel;
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
    return this.heldOut !== null && this.heldOut.labels.length > 0;
  }

  private heldOutPrepared = false;

  async prepareEvaluation(): Promise<void> {
    if (!this.hasHeldOut || this.heldOutPrepared) return;
    await this.scheme.prepare(this.heldOut!.texts, this.heldOut!.labels, this.bindOptions);
    this.heldOutPrepared = true;
  }

  evaluate(): Evaluation | null {
    if (!this.hasHeldOut) return null;
    // Evaluated every time the coordinator asks: prepare once (for side, its backbone features).
    this.evaluateHeldOut ??= this.scheme.prepareEvaluation(
      this.heldOut!.texts,
      this.heldOut!.labels,
      this.bindOptions,
    );
    return this.evaluateHeldOut();
  }

  dispose(): void {
    this.scheme.dispose();
  }
}
