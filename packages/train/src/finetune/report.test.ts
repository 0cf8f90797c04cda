import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classificationReport, rocAuc } from "./report.js";

/** AUC by its definition: over every (positive, negative) pair, 1 if ranked right, ½ if tied. */
function pairwiseAuc(scores: number[], positive: boolean[]): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++)
    for (let j = 0; j < scores.length; j++)
      if (positive[i] && !positive[j]) {
        pairs++;
        sum += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
  return sum / pairs;
}

describe("classification report", () => {
  it("ROC AUC from ranks equals the pairwise definition, ties included", () => {
    let s = 7;
    const rand = () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s / 2 ** 31;
    };
    for (let trial = 0; trial < 20; trial++) {
      const n = 5 + Math.floor(rand() * 60);
      // Scores on a coarse grid so that ties occur.
      const scores = Array.from({ length: n }, () => Math.round(rand() * 10) / 10);
      const positive = Array.from({ length: n }, () => rand() < 0.4);
      if (!positive.includes(true) || !positive.includes(false)) continue;
      assert.ok(Math.abs(rocAuc(scores, positive)! - pairwiseAuc(scores, positive)) < 1e-12);
    }
    assert.equal(rocAuc([0.1, 0.2], [true, true]), null);
  });

  it("precision, recall, F1 and the confusion matrix of a worked example", () => {
    // true:      0 0 0 1 1 2
    // predicted: 0 1 0 1 2 2
    const probs = new Float32Array([
      ...[0.8, 0.1, 0.1],
      ...[0.2, 0.7, 0.1],
      ...[0.6, 0.3, 0.1],
      ...[0.1, 0.8, 0.1],
      ...[0.1, 0.3, 0.6],
      ...[0.1, 0.1, 0.8],
    ]);
    const r = classificationReport(probs, new Int32Array([0, 0, 0, 1, 1, 2]), ["a", "b", "c"]);
    assert.deepEqual(r.confusion, [
      [2, 1, 0],
      [0, 1, 1],
      [0, 0, 1],
    ]);
    assert.equal(r.accuracy, 4 / 6);
    assert.deepEqual(r.perClass.a, { precision: 1, recall: 2 / 3, f1: 0.8, support: 3 });
    assert.equal(r.perClass.b!.precision, 0.5);
    assert.equal(r.perClass.b!.recall, 0.5);
    assert.equal(r.perClass.c!.precision, 0.5);
    assert.equal(r.perClass.c!.recall, 1);
    assert.ok(Math.abs(r.macroF1 - (0.8 + 0.5 + 2 / 3) / 3) < 1e-12);
    assert.ok(r.rocAuc !== null && r.rocAuc > 0.5 && r.rocAuc <= 1);
  });
});
