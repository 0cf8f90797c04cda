/**
 * What `memarc eval` reports of a classifier's probabilities on labelled data: accuracy, per-class
 * precision / recall / F1, their macro averages, the confusion matrix, and ROC AUC (binary: of the
 * second class's probability; more classes: the macro average of one-vs-rest AUCs). Definitions as
 * in scikit-learn (precision of a class never predicted is 0; AUC by the rank statistic, ties = ½).
 */
export interface ClassReport {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationReport {
  examples: number;
  accuracy: number;
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  /** ROC AUC; null when a class needed for it has no example. */
  rocAuc: number | null;
  perClass: Record<string, ClassReport>;
  /** confusion[i][j]: examples of true class i predicted as class j. */
  confusion: number[][];
  classNames: string[];
}

/** Row-wise argmax of row-major [n, classes] probabilities. */
export function argmaxRows(probabilities: Float32Array, classes: number): Int32Array {
  const n = probabilities.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++)
      if (probabilities[i * classes + c]! > probabilities[i * classes + best]!) best = c;
    out[i] = best;
  }
  return out;
}

/**
 * ROC AUC of `scores` for `positive` (true = positive class): the probability that a random positive
 * scores above a random negative, ties counting ½ — computed from average ranks in O(n log n).
 */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number | null {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const avgRank = (i + j + 2) / 2; // ranks are 1-based
    for (let k = i; k <= j; k++) {
      if (positive[order[k]!]) {
        pos++;
        rankSum += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return null;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function classificationReport(
  probabilities: Float32Array,
  labels: Int32Array,
  classNames: string[],
): ClassificationReport {
  const k = classNames.length;
  const n = labels.length;
  if (probabilities.length !== n * k)
    throw new RangeError(`probabilities hold ${probabilities.length} values, expected ${n}×${k}`);
  const predicted = argmaxRows(probabilities, k);
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    confusion[labels[i]!]![predicted[i]!]! += 1;
    if (labels[i] === predicted[i]) correct++;
  }
  const perClass: Record<string, ClassReport> = {};
  let sp = 0;
  let sr = 0;
  let sf = 0;
  for (let c = 0; c < k; c++) {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predictedC = confusion.reduce((a, row) => a + row[c]!, 0);
    const precision = predictedC ? tp / predictedC : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    perClass[classNames[c]!] = { precision, recall, f1, support };
    sp += precision;
    sr += recall;
    sf += f1;
  }
  const column = (c: number) => Array.from({ length: n }, (_, i) => probabilities[i * k + c]!);
  const isClass = (c: number) => Array.from(labels, (y) => y === c);
  let auc: number | null;
  if (k === 2) auc = rocAuc(column(1), isClass(1));
  else {
    const aucs = classNames.map((_, c) => rocAuc(column(c), isClass(c)));
    auc = aucs.some((a) => a === null) ? null : aucs.reduce((a, b) => a! + b!, 0)! / k;
  }
  return {
    examples: n,
    accuracy: n ? correct / n : Number.NaN,
    macroPrecision: sp / k,
    macroRecall: sr / k,
    macroF1: sf / k,
    rocAuc: auc,
    perClass,
    confusion,
    classNames,
  };
}
