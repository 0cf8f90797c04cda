// @ts-check
/**
 * A custom aggregation Strategy in a real federated run: a coordinator and three nodes in this
 * process, talking over signed and encrypted socket.io connections on 127.0.0.1.
 *
 *   node examples/custom-strategy.mjs
 *
 * `CoordinateMedian` replaces FedAvg's mean with the coordinate-wise median of the nodes' updates
 * (robust to a node that sends a wild update). Every node runs local DP-SGD (example-level DP) with
 * the settings the strategy dictates, and the strategy declares that spending as privacy events: the
 * coordinator checks them against the budget and records them BEFORE any node touches its data. The
 * median of DP-SGD outputs is post-processing, so it costs no extra ε.
 *
 * Each node fine-tunes the `logreg` scheme on its share of SpamAssassin's training split; the
 * coordinator evaluates the global model on the (public) test split after every round. The last
 * line of stdout is one JSON object.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { iid } from "@memarc/data";
import { getSpamAssassin } from "@memarc/data/node";
import {
  accountantFactory,
  Coordinator,
  calibrateLocalDp,
  evaluateSummary,
  FinetuneLocalModel,
  localOptimizationFor,
  NodeRunner,
  PrivacyLedger,
  ServerSgd,
  SocketNodePool,
  safetensorsWeightsCodec,
} from "@memarc/federation";
import { StateStore } from "@memarc/federation/node";
import { createAccountant } from "@memarc/privacy";
import { AllowList, generateIdentity, silentLogger } from "@memarc/protocol";
import { ServerChannel } from "@memarc/protocol/node";
import { initBackend } from "@memarc/tensor";
import { createScheme, secureTrainingRandom } from "@memarc/train";

/**
 * @typedef {import("@memarc/federation").Strategy} Strategy
 * @typedef {import("@memarc/federation").RoundContext} RoundContext
 * @typedef {import("@memarc/federation").FitPlan} FitPlan
 * @typedef {import("@memarc/federation").FitResult} FitResult
 * @typedef {import("@memarc/federation").Failure} Failure
 * @typedef {import("@memarc/federation").AggregateOutcome} AggregateOutcome
 * @typedef {import("@memarc/federation").EvaluateResult} EvaluateResult
 * @typedef {import("@memarc/federation").LocalDpSettings} LocalDpSettings
 * @typedef {import("@memarc/federation").Weights} Weights
 */

/** @implements {Strategy} */
class CoordinateMedian {
  name = "coordinate-median";

  /** @param {LocalDpSettings} localDp what every node runs each round (fixed by the plan) */
  constructor(localDp) {
    this.localDp = localDp;
  }

  /**
   * Every connected node trains; each task's DP-SGD is one privacy event on that node's examples.
   * @param {RoundContext} ctx
   * @returns {FitPlan}
   */
  configureFit(ctx) {
    const tasks = ctx.nodes.map((n) => ({
      nodeId: n.id,
      config: { localDp: { ...this.localDp }, updateClip: null },
    }));
    const events = tasks.map((t) => ({
      unit: /** @type {const} */ ("example"),
      subject: t.nodeId,
      noiseMultiplier: this.localDp.noiseMultiplier,
      sampleRate: this.localDp.sampleRate,
      steps: this.localDp.steps,
    }));
    return { tasks, events };
  }

  /**
   * The coordinate-wise median of the updates (the coordinator has already checked their names and
   * sizes against the global weights). A failed node is simply left out.
   * @param {RoundContext} ctx
   * @param {FitResult[]} results
   * @param {Failure[]} failures
   * @returns {AggregateOutcome}
   */
  aggregateFit(ctx, results, failures) {
    /** @type {Weights} */
    const delta = {};
    const column = new Float64Array(results.length);
    for (const [name, global] of Object.entries(ctx.global)) {
      const out = new Float32Array(global.length);
      for (let i = 0; i < out.length; i++) {
        results.forEach((r, k) => {
          column[k] = /** @type {Float32Array} */ (r.delta[name])[i] ?? 0;
        });
        column.sort();
        const m = column.length >> 1;
        out[i] = column.length % 2 ? (column[m] ?? 0) : ((column[m - 1] ?? 0) + (column[m] ?? 0)) / 2;
      }
      delta[name] = out;
    }
    return { delta, metrics: { participants: results.length, failures: failures.length } };
  }

  /**
   * No private evaluation on the nodes: the coordinator evaluates on its own test set.
   * @param {RoundContext} _ctx
   * @returns {string[]}
   */
  configureEvaluate(_ctx) {
    return [];
  }

  /**
   * @param {RoundContext} _ctx
   * @param {EvaluateResult[]} results
   */
  aggregateEvaluate(_ctx, results) {
    return evaluateSummary(results);
  }

  /** Nothing to carry across a coordinator restart (an adaptive strategy would save its state here). */
  saveState() {
    return {};
  }

  loadState() {}
}

const NODES = 3;
const ROUNDS = 3;
const EPSILON = 4;
const DELTA = 1e-5;

const backend = await initBackend({ log: null });
const { train, test } = getSpamAssassin();
const hashDim = 4096;
const newScheme = () => createScheme("logreg", null, { numClasses: train.numClasses, hashDim });

// The run's plan: the same Poisson rate q and fixed batch denominator on every node (the coordinator
// never learns a node's example count), σ calibrated so all rounds of local steps fit (ε, δ).
const shares = iid(train.labels.length, NODES, { seed: 1 });
const perNode = Math.min(...shares.map((s) => s.length));
const sampleRate = 0.05;
const localDp = calibrateLocalDp({
  epsilon: EPSILON,
  delta: DELTA,
  rounds: ROUNDS,
  stepsPerRound: 20,
  sampleRate,
  expectedBatchSize: Math.round(sampleRate * perNode),
  perExampleClip: 1,
});

// Coordinator: a server channel that admits only the listed node keys, the strategy, a privacy
// ledger, a state directory (weights + ledger, so a run can resume), and its own evaluation.
const coordinatorId = generateIdentity();
const nodeIds = Array.from({ length: NODES }, () => generateIdentity());
const server = await ServerChannel.listen({
  identity: coordinatorId,
  allowList: new AllowList(nodeIds.map((n) => n.publicKey)),
  logger: silentLogger, // 127.0.0.1 on a free port by default; pass host/port/tls to serve others
});
const global = newScheme();
const shapes = Object.fromEntries([...global.params].map(([k, v]) => [k, v.shape]));
const evaluateTest = global.prepareEvaluation(test.texts, test.labels, { contextLength: 1 });
const stateDir = mkdtempSync(join(tmpdir(), "memarc-example-run-"));

const coordinator = new Coordinator(
  {
    rounds: ROUNDS,
    minNodes: NODES,
    waitForNodesMs: 30_000,
    roundTimeoutMs: 120_000,
    evaluateEvery: 1,
    federatedEvaluation: null,
    budget: { epsilon: EPSILON, delta: DELTA },
    governs: "example",
    training: localOptimizationFor("logreg", { optimizer: "adam", learningRate: 0.05 }),
    fingerprint: "examples/custom-strategy v1",
    evaluateGlobal: async (weights) => {
      global.importTrainable(weights);
      const e = evaluateTest();
      return { accuracy: e.accuracy, loss: e.loss };
    },
  },
  {
    strategy: new CoordinateMedian(localDp),
    optimizer: new ServerSgd(1),
    ledger: new PrivacyLedger(accountantFactory("rdp")),
    store: new StateStore(stateDir, safetensorsWeightsCodec),
    pool: new SocketNodePool(server, shapes, DELTA),
    initialWeights: global.exportTrainable(),
    onEvent: (e) => {
      if (e.type === "round-end")
        process.stderr.write(
          `round ${e.record.round}: ε ${e.record.epsilon.example?.toFixed(3)}, test accuracy ${e.record.metrics.test_accuracy?.toFixed(3)}\n`,
        );
    },
  },
  { resume: false }, // a fresh run (true resumes the one in stateDir)
);

// Nodes: each holds its own share of the data, pins the coordinator's key, and keeps its own
// accountant and ε ceiling — it refuses any task that would take it past EPSILON.
const nodes = nodeIds.map((identity, i) => {
  const share = /** @type {number[]} */ (shares[i]);
  const data = {
    texts: share.map((j) => train.texts[j] ?? ""),
    labels: Int32Array.from(share, (j) => train.labels[j] ?? 0),
  };
  const runner = new NodeRunner({
    url: server.url,
    identity,
    coordinatorKey: coordinatorId.publicKey,
    capabilities: { backend: backend.name, memoryBytes: 1 << 30, schemes: ["logreg"] },
    model: () => FinetuneLocalModel.create(newScheme(), data, null, { contextLength: 1 }),
    random: secureTrainingRandom(),
    policy: { maxEpsilon: EPSILON, maxDelta: DELTA, acceptCentralDp: false },
  });
  return runner.run();
});

try {
  const summary = await coordinator.run();
  const finished = await Promise.all(nodes);
  // What the ledger charged each node: ROUNDS × steps of its local DP-SGD.
  const expected = createAccountant("rdp")
    .step({ noiseMultiplier: localDp.noiseMultiplier, sampleRate, steps: ROUNDS * localDp.steps })
    .getEpsilon(DELTA);
  console.log(
    JSON.stringify({
      example: "custom-strategy",
      strategy: "coordinate-median",
      backend: backend.name,
      nodes: NODES,
      completedRound: summary.completedRound,
      stopReason: summary.stopReason,
      nodesFinished: finished.map((f) => f.reason),
      noiseMultiplier: localDp.noiseMultiplier,
      epsilon: summary.epsilon.example,
      expectedEpsilon: expected,
      nodeEpsilons: finished.map((f) => f.epsilon),
      targetEpsilon: EPSILON,
      delta: DELTA,
      testAccuracy: summary.metrics.test_accuracy,
    }),
  );
} finally {
  await server.close();
  global.dispose();
  rmSync(stateDir, { recursive: true, force: true });
}
