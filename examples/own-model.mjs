// @ts-check
/**
 * Your own model in a federated, differentially private run: any tf.js model becomes a node's
 * `LocalModel` by exposing its trainable variables, the clipped sum of per-example gradients, its
 * weights as named Float32Arrays, and an evaluation on the node's held-out examples.
 *
 *   node examples/own-model.mjs
 *
 * The model here is a small MLP (2 → 16 → 2, tanh) on a task no linear model can learn (XOR of the
 * signs of two coordinates). `clippedGradients` takes the simplest correct route — one backward pass
 * per example, each gradient clipped to C, then summed; the built-in schemes get the same sum in one
 * batched pass by book-keeping. The DP-SGD engine adds the noise; the model never sees it.
 *
 * Two nodes train it with FedAvg over real sockets on 127.0.0.1. After every round the coordinator
 * asks the nodes for a private evaluation on their held-out examples (noised sums, charged to the
 * budget like the training steps) and evaluates on its own test set. Last stdout line: one JSON object.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  accountantFactory,
  assignVariables,
  Coordinator,
  calibrateLocalDp,
  FedAvg,
  localOptimizationFor,
  NodeRunner,
  PrivacyLedger,
  plannedEvaluations,
  readVariables,
  ServerSgd,
  SocketNodePool,
  safetensorsWeightsCodec,
} from "@memarc/federation";
import { StateStore } from "@memarc/federation/node";
import { AllowList, generateIdentity, silentLogger } from "@memarc/protocol";
import { ServerChannel } from "@memarc/protocol/node";
import { initBackend } from "@memarc/tensor";
import { secureTrainingRandom } from "@memarc/train";
import * as tf from "@tensorflow/tfjs";

/**
 * @typedef {import("@memarc/federation").LocalModel} LocalModel
 * @typedef {import("@memarc/federation").Weights} Weights
 * @typedef {import("@memarc/train").ClippedBatch} ClippedBatch
 * @typedef {import("@memarc/train").PlainBatch} PlainBatch
 * @typedef {import("@memarc/train").Evaluation} Evaluation
 * @typedef {{ x: Float32Array; y: Int32Array }} Examples  rows of [x0, x1] and their labels
 */

const HIDDEN = 16;

/** @implements {LocalModel} */
class XorMlp {
  /**
   * @param {Examples} train
   * @param {Examples | null} heldOut
   * @param {number} seed initialisation only (a node's first task overwrites it with the global weights)
   */
  constructor(train, heldOut, seed = 1) {
    this.train = train;
    this.heldOut = heldOut;
    const init = (/** @type {number[]} */ shape, /** @type {number} */ std) =>
      tf.variable(tf.randomNormal(shape, 0, std, "float32", seed++));
    /** @type {Map<string, tf.Variable>} */
    this.params = new Map([
      ["w1", init([2, HIDDEN], 1)],
      ["b1", tf.variable(tf.zeros([HIDDEN]))],
      ["w2", init([HIDDEN, 2], 1 / Math.sqrt(HIDDEN))],
      ["b2", tf.variable(tf.zeros([2]))],
    ]);
  }

  get numTrainExamples() {
    return this.train.y.length;
  }

  get hasHeldOut() {
    return this.heldOut !== null && this.heldOut.y.length > 0;
  }

  /** Logits [n, 2] of rows `x` [n, 2] under parameters `p` = [w1, b1, w2, b2]. */
  static logits(/** @type {tf.Tensor[]} */ p, /** @type {tf.Tensor2D} */ x) {
    const [w1, b1, w2, b2] = /** @type {[tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D]} */ (p);
    return tf.add(tf.matMul(tf.tanh(tf.add(tf.matMul(x, w1), b1)), w2), b2);
  }

  /** Per-example cross-entropies [n]. */
  static losses(/** @type {tf.Tensor[]} */ p, /** @type {tf.Tensor2D} */ x, /** @type {tf.Tensor1D} */ y) {
    return tf.neg(tf.sum(tf.mul(tf.oneHot(y, 2), tf.logSoftmax(XorMlp.logits(p, x))), 1));
  }

  /**
   * @param {Examples} d
   * @param {Int32Array} indices
   */
  static rows(d, indices) {
    const x = tf.tensor2d(
      Float32Array.from(
        { length: indices.length * 2 },
        (_, k) => d.x[2 * (indices[k >> 1] ?? 0) + (k & 1)] ?? 0,
      ),
      [indices.length, 2],
    );
    const y = tf.tensor1d(
      Int32Array.from(indices, (i) => d.y[i] ?? 0),
      "int32",
    );
    return { x, y };
  }

  /**
   * Σᵢ min(1, C/‖gᵢ‖)·gᵢ over the examples `indices`, with every ‖gᵢ‖ and Σᵢ lossᵢ.
   * @param {Int32Array} indices
   * @param {number} clipNorm
   * @returns {ClippedBatch}
   */
  clippedGradients(indices, clipNorm) {
    const vars = [...this.params.values()];
    const norms = new Float32Array(indices.length);
    let lossSum = 0;
    const sums = tf.tidy(() => {
      let acc = vars.map((v) => tf.zerosLike(v));
      indices.forEach((index, k) => {
        const { x, y } = XorMlp.rows(this.train, Int32Array.of(index));
        const { value, grads } = tf.valueAndGrads((/** @type {tf.Tensor[]} */ ...p) =>
          tf.sum(XorMlp.losses(p, x, y)),
        )(vars);
        const norm = Math.sqrt(grads.reduce((s, g) => s + (tf.sum(tf.square(g)).dataSync()[0] ?? 0), 0));
        norms[k] = norm;
        lossSum += value.dataSync()[0] ?? 0;
        const scale = Math.min(1, clipNorm / Math.max(norm, 1e-12));
        acc = acc.map((a, j) => tf.add(a, tf.mul(/** @type {tf.Tensor} */ (grads[j]), scale)));
      });
      return acc;
    });
    const names = [...this.params.keys()];
    return {
      clippedSum: new Map(names.map((n, j) => [n, /** @type {tf.Tensor} */ (sums[j])])),
      norms,
      lossSum,
    };
  }

  /**
   * The plain summed gradient (non-private training only).
   * @param {Int32Array} indices
   * @returns {PlainBatch}
   */
  gradients(indices) {
    const vars = [...this.params.values()];
    const { x, y } = XorMlp.rows(this.train, indices);
    const { value, grads } = tf.valueAndGrads((/** @type {tf.Tensor[]} */ ...p) =>
      tf.sum(XorMlp.losses(p, x, y)),
    )(vars);
    const lossSum = value.dataSync()[0] ?? 0;
    tf.dispose([x, y, value]);
    return {
      sum: new Map([...this.params.keys()].map((n, j) => [n, /** @type {tf.Tensor} */ (grads[j])])),
      lossSum,
    };
  }

  /** @returns {Weights} */
  getWeights() {
    return readVariables(this.params);
  }

  /** @param {Weights} w */
  setWeights(w) {
    assignVariables(this.params, w);
  }

  /** Raw results on the held-out examples; the node's LocalTrainer noises them before release. */
  evaluate() {
    return this.heldOut ? XorMlp.evaluateOn(this.params, this.heldOut) : null;
  }

  /**
   * @param {Map<string, tf.Variable>} params
   * @param {Examples} d
   * @returns {Evaluation}
   */
  static evaluateOn(params, d) {
    const all = Int32Array.from(d.y, (_, i) => i);
    return tf.tidy(() => {
      const { x, y } = XorMlp.rows(d, all);
      const p = [...params.values()];
      const losses = /** @type {Float32Array} */ (XorMlp.losses(p, x, y).dataSync());
      const probabilities = /** @type {Float32Array} */ (tf.softmax(XorMlp.logits(p, x)).dataSync());
      let correct = 0;
      d.y.forEach((label, i) => {
        const predicted = (probabilities[2 * i + 1] ?? 0) > (probabilities[2 * i] ?? 0) ? 1 : 0;
        if (predicted === label) correct++;
      });
      const loss = losses.reduce((s, l) => s + l, 0) / Math.max(1, losses.length);
      return { accuracy: correct / Math.max(1, d.y.length), loss, correct, losses, probabilities };
    });
  }

  dispose() {
    tf.dispose([...this.params.values()]);
  }
}

/** Label = [x0·x1 > 0] on uniform points of [−1, 1]² (synthetic, so a seeded generator is fine). */
function xorData(/** @type {number} */ n, /** @type {number} */ seed) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
  const x = Float32Array.from({ length: 2 * n }, uniform);
  const y = Int32Array.from({ length: n }, (_, i) => ((x[2 * i] ?? 0) * (x[2 * i + 1] ?? 0) > 0 ? 1 : 0));
  return { x, y };
}

const NODES = 2;
const ROUNDS = 4;
const EPSILON = 4;
const DELTA = 1e-5;
const EVALUATION = { noiseMultiplier: 10, lossBound: 5 };

const backend = await initBackend({ log: null });
const perNode = 1000;
const sampleRate = 0.05;
const localDp = calibrateLocalDp({
  epsilon: EPSILON,
  delta: DELTA,
  rounds: ROUNDS,
  stepsPerRound: 25,
  sampleRate,
  expectedBatchSize: sampleRate * perNode,
  perExampleClip: 1,
  evaluations: { count: plannedEvaluations(ROUNDS, 1), mechanism: EVALUATION },
});

const coordinatorId = generateIdentity();
const nodeIds = Array.from({ length: NODES }, () => generateIdentity());
const server = await ServerChannel.listen({
  identity: coordinatorId,
  allowList: new AllowList(nodeIds.map((n) => n.publicKey)),
  logger: silentLogger,
});
const reference = new XorMlp(xorData(0, 0), xorData(2000, 99));
const shapes = Object.fromEntries([...reference.params].map(([k, v]) => [k, v.shape]));
const stateDir = mkdtempSync(join(tmpdir(), "memarc-example-run-"));

const coordinator = new Coordinator(
  {
    rounds: ROUNDS,
    minNodes: NODES,
    waitForNodesMs: 30_000,
    roundTimeoutMs: 120_000,
    evaluateEvery: 1,
    federatedEvaluation: EVALUATION,
    budget: { epsilon: EPSILON, delta: DELTA },
    governs: "example",
    training: localOptimizationFor("xor-mlp", { optimizer: "adam", learningRate: 0.05 }),
    fingerprint: "examples/own-model v1",
    evaluateGlobal: async (weights) => {
      reference.setWeights(weights);
      const e = /** @type {Evaluation} */ (reference.evaluate());
      return { accuracy: e.accuracy, loss: e.loss };
    },
  },
  {
    strategy: new FedAvg({ localDp }),
    optimizer: new ServerSgd(1),
    ledger: new PrivacyLedger(accountantFactory("rdp")),
    store: new StateStore(stateDir, safetensorsWeightsCodec),
    pool: new SocketNodePool(server, shapes, DELTA),
    initialWeights: reference.getWeights(),
    onEvent: (e) => {
      if (e.type === "round-end")
        process.stderr.write(
          `round ${e.record.round}: ε ${e.record.epsilon.example?.toFixed(3)}, ` +
            `federated accuracy ${e.record.metrics.federated_accuracy?.toFixed(3)}, test accuracy ${e.record.metrics.test_accuracy?.toFixed(3)}\n`,
        );
    },
  },
  { resume: false },
);

const nodes = nodeIds.map((identity, i) =>
  new NodeRunner({
    url: server.url,
    identity,
    coordinatorKey: coordinatorId.publicKey,
    capabilities: { backend: backend.name, memoryBytes: 1 << 30, schemes: ["xor-mlp"] },
    // Called once per scheme the coordinator asks for, with the plan's scheme and context length.
    model: async () => new XorMlp(xorData(perNode, 10 + i), xorData(200, 20 + i)),
    random: secureTrainingRandom(),
    policy: { maxEpsilon: EPSILON, maxDelta: DELTA, acceptCentralDp: false },
  }).run(),
);

try {
  const summary = await coordinator.run();
  const finished = await Promise.all(nodes);
  console.log(
    JSON.stringify({
      example: "own-model",
      model: "xor-mlp",
      backend: backend.name,
      completedRound: summary.completedRound,
      nodesFinished: finished.map((f) => f.reason),
      noiseMultiplier: localDp.noiseMultiplier,
      epsilon: summary.epsilon.example,
      nodeEpsilons: finished.map((f) => f.epsilon),
      targetEpsilon: EPSILON,
      delta: DELTA,
      federatedAccuracy: summary.metrics.federated_accuracy,
      testAccuracy: summary.metrics.test_accuracy,
    }),
  );
} finally {
  await server.close();
  reference.dispose();
  rmSync(stateDir, { recursive: true, force: true });
}
