/** Test helpers: tiny batches and the autodiff / per-example-loop references for a scheme. */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import type { BertConfig } from "../bert/config.js";
import { Bert } from "../bert/model.js";
import type { Architecture, BackboneConfig, BackboneModel } from "../core/backbone.js";
import { ModelError } from "../core/errors.js";
import type { GPT2Config } from "../gpt2/config.js";
import { GPT2 } from "../gpt2/model.js";
import type { BaseScheme } from "./base.js";
import type { Batch, Objective } from "./types.js";

export const tinyConfig: GPT2Config = {
  nLayer: 2,
  nEmbd: 16,
  nHead: 2,
  nPositions: 12,
  vocabSize: 11,
  layerNormEps: 1e-5,
};

/** A small BERT: 4 heads of 8 dims, an MLP 2× wide (not 4×, so nothing assumes GPT-2's ratio). */
export const tinyBertConfig: BertConfig = {
  nLayer: 2,
  nEmbd: 32,
  nHead: 4,
  nInner: 64,
  nPositions: 12,
  vocabSize: 11,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
};

/** One backbone architecture the scheme suites run against. */
export interface TestBackbone {
  readonly name: Architecture;
  readonly config: BackboneConfig;
  /** Seeded random backbone (`perturb`: LayerNorms and biases random too); `nLayer` overrides depth. */
  make(seed: number, o?: { perturb?: boolean; nLayer?: number }): BackboneModel;
  /** What it can be trained on: "lm" needs a causal backbone. */
  readonly objectives: readonly Objective[];
}

export const TEST_BACKBONES: readonly TestBackbone[] = [
  {
    name: "gpt2",
    config: tinyConfig,
    make: (seed, o = {}) =>
      GPT2.random({ ...tinyConfig, nLayer: o.nLayer ?? tinyConfig.nLayer }, seed, o.perturb),
    objectives: ["classify", "lm"],
  },
  {
    name: "bert",
    config: tinyBertConfig,
    make: (seed, o = {}) =>
      Bert.random({ ...tinyBertConfig, nLayer: o.nLayer ?? tinyBertConfig.nLayer }, seed, o.perturb),
    objectives: ["classify"],
  },
];

/** "lm" on a bidirectional backbone is a clear E_OBJECTIVE error from every entry point, leaking nothing. */
export function checkRejectsLm(s: BaseScheme, batch: Batch): void {
  const before = tf.memory().numTensors;
  const isObjectiveError = (e: unknown) =>
    e instanceof ModelError && e.code === "E_OBJECTIVE" && /causal language model/.test(e.message);
  assert.throws(() => s.perExampleLoss(batch, "lm"), isObjectiveError);
  assert.throws(() => s.clippedGradients(batch, { clipNorm: 1, objective: "lm" }), isObjectiveError);
  assert.throws(() => s.gradients(batch, "lm"), isObjectiveError);
  assert.equal(tf.memory().numTensors, before, "tensor leak on a rejected objective");
}

/** B examples of length T with varied right padding (example 0 is unpadded). */
export function tinyBatch(b: number, t: number, vocab: number, classes: number): Batch {
  const ids: number[][] = [];
  const mask: number[][] = [];
  for (let i = 0; i < b; i++) {
    const len = Math.max(2, t - ((i * 3) % (t - 1)));
    ids.push(Array.from({ length: t }, (_, k) => (k < len ? (i * 7 + k * 5 + 1) % vocab : 0)));
    mask.push(Array.from({ length: t }, (_, k) => (k < len ? 1 : 0)));
  }
  return {
    inputIds: tf.tensor2d(ids, [b, t], "int32"),
    attentionMask: tf.tensor2d(mask, [b, t]),
    labels: tf.tensor1d(
      Array.from({ length: b }, (_, i) => i % classes),
      "int32",
    ),
  };
}

export function sliceBatch(batch: Batch, i: number): Batch {
  const t = batch.inputIds.shape[1];
  return {
    inputIds: tf.slice(batch.inputIds, [i, 0], [1, t]),
    attentionMask: tf.slice(batch.attentionMask, [i, 0], [1, t]),
    labels: batch.labels ? tf.slice(batch.labels, [i], [1]) : undefined,
    features: batch.features
      ? { hidden: batch.features.hidden.map((h) => tf.slice(h, [i, 0, 0], [1, -1, -1])) }
      : undefined,
  };
}

export function disposeBatch(b: Batch): void {
  tf.dispose([b.inputIds, b.attentionMask, ...(b.labels ? [b.labels] : []), ...(b.features?.hidden ?? [])]);
}

/** Autodiff of Σ_i loss_i w.r.t. every trainable parameter. */
export function autodiffGrads(s: BaseScheme, batch: Batch, obj: Objective, seed = 0): Map<string, tf.Tensor> {
  const names = [...s.trainable.keys()];
  const vals = names.map((n) => s.trainable.get(n)!);
  const grads = tf.grads((...xs: tf.Tensor[]) => {
    const o = new Map(names.map((n, i) => [n, xs[i]!]));
    // 0·Σθ connects parameters the objective does not use (e.g. the classifier under "lm") → zero grads.
    const unused = tf.addN(xs.map((x) => tf.mul(0, tf.sum(x))));
    return tf.add(tf.sum(s.lossWithParams(o, batch, obj, seed)), unused) as tf.Scalar;
  })(vals);
  return new Map(names.map((n, i) => [n, grads[i]!]));
}

/** Elementwise |x − y| ≤ rtol·(|y| + max|y|·0.01) + tiny; reports the worst offender. */
export function assertClose(name: string, got: tf.Tensor, want: tf.Tensor, rtol = 1e-3): void {
  assert.deepEqual(got.shape, want.shape, `${name} shape`);
  const x = got.dataSync();
  const y = want.dataSync();
  let scale = 0;
  for (const v of y) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < x.length; i++) {
    const tol = rtol * (Math.abs(y[i]!) + 0.01 * scale) + 1e-9;
    assert.ok(Math.abs(x[i]! - y[i]!) <= tol, `${name}[${i}]: ${x[i]} vs ${y[i]} (scale ${scale})`);
  }
}

const sqNorm = (m: Map<string, tf.Tensor>) => {
  let s = 0;
  for (const t of m.values()) s += tf.tidy(() => tf.sum(tf.square(t)).dataSync()[0]!);
  return s;
};

/**
 * Full correctness check of a scheme's DP backward against references:
 * (1) clipNorm = ∞ gives autodiff's summed gradient; (2) gradients() too; (3) per-example norms
 * and the clipped sum at a finite C equal a loop of per-example autodiff; (4) no tensor leaks.
 */
export function checkScheme(s: BaseScheme, batch: Batch, obj: Objective): void {
  const ref = autodiffGrads(s, batch, obj);
  const before = tf.memory().numTensors;
  const dp = s.clippedGradients(batch, { clipNorm: Number.POSITIVE_INFINITY, objective: obj });
  const plain = s.gradients(batch, obj);
  assert.deepEqual(Object.keys(dp.clippedSum).sort(), [...s.trainable.keys()].sort());
  let nonzero = 0;
  for (const [n, g] of ref) {
    assertClose(`∞-clipped ${n}`, dp.clippedSum[n]!, g);
    assertClose(`plain ${n}`, plain.grads[n]!, g);
    if (tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!) > 0) nonzero++;
  }
  assert.ok(nonzero >= ref.size * 0.8, `only ${nonzero}/${ref.size} parameters get gradient`);
  tf.dispose([...Object.values(dp.clippedSum), ...Object.values(plain.grads)]);
  assert.equal(tf.memory().numTensors, before, "tensor leak across a DP step");
  const lossRef = tf.tidy(() => tf.mean(s.perExampleLoss(batch, obj)).dataSync()[0]!);
  assert.ok(
    Math.abs(dp.loss - lossRef) < 1e-4 * Math.max(1, Math.abs(lossRef)),
    `loss ${dp.loss} vs ${lossRef}`,
  );

  // Per-example loop (test only).
  const b = batch.inputIds.shape[0];
  const per: Map<string, tf.Tensor>[] = [];
  const norms: number[] = [];
  for (let i = 0; i < b; i++) {
    const one = sliceBatch(batch, i);
    const g = autodiffGrads(s, one, obj);
    per.push(g);
    norms.push(Math.sqrt(sqNorm(g)));
    disposeBatch(one);
  }
  const C = [...norms].sort((x, y) => x - y)[Math.floor(b / 2)]!; // clips about half the examples
  const clipped = s.clippedGradients(batch, { clipNorm: C, objective: obj });
  for (let i = 0; i < b; i++)
    assert.ok(
      Math.abs(clipped.norms[i]! - norms[i]!) <= 1e-3 * norms[i]! + 1e-7,
      `norm ${i}: ${clipped.norms[i]} vs ${norms[i]}`,
    );
  for (const n of s.trainable.keys()) {
    const want = tf.tidy(() => tf.addN(per.map((g, i) => tf.mul(g.get(n)!, Math.min(1, C / norms[i]!)))));
    assertClose(`clipped ${n}`, clipped.clippedSum[n]!, want);
    want.dispose();
  }
  tf.dispose([
    ...Object.values(clipped.clippedSum),
    ...[...ref.values()],
    ...per.flatMap((m) => [...m.values()]),
  ]);
}
