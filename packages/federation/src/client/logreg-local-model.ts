/**
 * The hashed bag-of-words logistic-regression baseline as a node's LocalModel: a cheap, real model
 * for protocol-level tests and for comparing against the language-model schemes.
 */

import type { ClippedBatch, PlainBatch } from "@memarc/train";
import { hashedBagOfWords, LogisticRegression } from "@memarc/train";
import type { Weights } from "../weights.js";
import type { LocalModel } from "./local-model.js";
import { assignVariables, readVariables } from "./variables.js";

export interface TextSplit {
  texts: readonly string[];
  labels: Int32Array;
}

export class LogRegLocalModel implements LocalModel {
  private readonly inner: LogisticRegression;
  private readonly testX: Float32Array;

  constructor(
    train: TextSplit,
    private readonly test: TextSplit,
    numClasses: number,
    featureDim = 4096,
  ) {
    this.inner = new LogisticRegression(hashedBagOfWords(train.texts, featureDim), train.labels, numClasses);
    this.testX = hashedBagOfWords(test.texts, featureDim);
  }

  get params() {
    return this.inner.params;
  }

  get numTrainExamples(): number {
    return this.inner.numExamples;
  }

  clippedGradients(indices: Int32Array, clipNorm: number): ClippedBatch {
    return this.inner.clippedGradients(indices, clipNorm);
  }

  gradients(indices: Int32Array): PlainBatch {
    return this.inner.gradients(indices);
  }

  getWeights(): Weights {
    return readVariables(this.inner.params);
  }

  setWeights(w: Weights): void {
    assignVariables(this.inner.params, w);
  }

  evaluate(): { numExamples: number; metrics: Record<string, number> } {
    const pred = this.inner.predict(this.testX);
    let correct = 0;
    pred.forEach((p, i) => {
      if (p === this.test.labels[i]) correct++;
    });
    return {
      numExamples: pred.length,
      metrics: { accuracy: pred.length ? correct / pred.length : Number.NaN },
    };
  }

  dispose(): void {
    this.inner.dispose();
  }
}
