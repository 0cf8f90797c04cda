/**
 * The malicious coordinator: a real ServerChannel that crafts its own round and evaluation tasks
 * against a real NodeRunner (production LocalTrainer, logreg scheme, CSPRNG noise) over the real
 * sealed protocol on 127.0.0.1, and inspects everything the node sends back.
 *
 * The membership tests compare the DISTRIBUTIONS of what the node sends with and without a canary
 * example: the attacker chooses weights that make the canary's gradient (or loss) extreme and a
 * huge learning rate, then applies its best threshold test to the canary's direction. DP bounds the
 * advantage of any test; the same attack on the same node without noise (a control) wins every time,
 * so the test has the power to catch a leak.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createAccountant } from "@memarc/privacy";
import {
  type CoordinatorMessage,
  generateIdentity,
  type Identity,
  MemoryLogger,
  type NodeMessage,
  nodeIdString,
  type ServerSession,
} from "@memarc/protocol";
import { ServerChannel } from "@memarc/protocol/node";
import { initBackend } from "@memarc/tensor";
import { hashedBagOfWords, secureTrainingRandom, type TrainingRandom } from "@memarc/train";
import type { NodePrivacyPolicy } from "../client/local-trainer.js";
import { logregLocalModel } from "../testing/logreg-model.js";
import { syntheticTextTask } from "../testing/text-corpus.js";
import { NodeRunner } from "./node-runner.js";
import { toNamedTensors } from "./task-config.js";

const DIM = 64;
const DELTA = 1e-5;
const SHAPES = { weight: [DIM, 2], bias: [2] };
const CANARY = "zqxj canary vault 4417 pelican zqxj";
/** The largest learning rate a node accepts (its sanity bound is < 100): the update scales, and so does its noise. */
const LR = 99;
const coordId = generateIdentity();
let server: ServerChannel;

before(async () => {
  await initBackend({ log: null });
  server = await ServerChannel.listen({
    identity: coordId,
    openEnrolment: true,
    joinToken: "leakage-suite-join-token",
    logger: new MemoryLogger(),
  });
});

after(async () => {
  await server.close();
});

/** The canary's feature row (unit norm) — the attacker knows the canary it is testing for. */
const canaryRow = hashedBagOfWords([CANARY], DIM);

/** Weights under which the canary (label 1) is confidently misclassified: its gradient is maximal. */
function craftedWeights(): Record<string, Float32Array> {
  const weight = new Float32Array(DIM * 2);
  for (let i = 0; i < DIM; i++) {
    weight[i * 2] = 10 * canaryRow[i]!; // class 0 column
    weight[i * 2 + 1] = -10 * canaryRow[i]!; // class 1 column
  }
  return { weight, bias: new Float32Array(2) };
}

/** Unit vector of the canary's per-example gradient at the crafted weights: x ⊗ (p − e₁), (p − e₁) with p ≈ (1, 0). */
function canaryDirection(): { weight: Float32Array; bias: Float32Array } {
  const weight = new Float32Array(DIM * 2);
  for (let i = 0; i < DIM; i++) {
    weight[i * 2] = canaryRow[i]!;
    weight[i * 2 + 1] = -canaryRow[i]!;
  }
  const bias = Float32Array.of(1, -1);
  let n = 0;
  for (const v of weight) n += v * v;
  for (const v of bias) n += v * v;
  const s = 1 / Math.sqrt(n);
  return { weight: weight.map((v) => v * s), bias: bias.map((v) => v * s) };
}

const noNoise = (): TrainingRandom => ({ ...secureTrainingRandom(), addNoise: () => {} });

interface Node {
  id: Identity;
  runner: NodeRunner;
  done: Promise<unknown>;
  session: ServerSession;
  /** Every message the node sent, in order. */
  sent: NodeMessage[];
}

async function startNode(
  withCanary: boolean,
  o: { random?: TrainingRandom; policy?: Partial<NodePrivacyPolicy>; canaryIn?: "train" | "heldOut" } = {},
): Promise<Node> {
  const train = syntheticTextTask(60, 1);
  const heldOut = syntheticTextTask(30, 2);
  const target = (o.canaryIn ?? "train") === "train" ? train : heldOut;
  if (withCanary) {
    target.texts.push(CANARY);
    target.labels = Int32Array.from([...target.labels, 1]);
  }
  const id = generateIdentity();
  const joined = new Promise<ServerSession>((resolve) => {
    const onSession = (s: ServerSession) => {
      if (s.nodeIdString === nodeIdString(id.publicKey)) resolve(s);
    };
    server.on("session", onSession);
  });
  const runner = new NodeRunner({
    url: server.url,
    identity: id,
    coordinatorKey: coordId.publicKey,
    joinToken: "leakage-suite-join-token",
    capabilities: { backend: "wasm", memoryBytes: 1 << 30, schemes: ["logreg"] },
    model: async () => logregLocalModel(train, heldOut, 2, DIM),
    random: o.random ?? secureTrainingRandom(),
    policy: { maxEpsilon: null, maxDelta: DELTA, acceptCentralDp: false, ...o.policy },
    logger: new MemoryLogger(),
    backoff: { initialMs: 50, maxMs: 200 },
    maxAttempts: 3,
  });
  const done = runner.run();
  const session = await joined;
  const sent: NodeMessage[] = [];
  session.on("message", (m: NodeMessage) => sent.push(m));
  return { id, runner, done, session, sent };
}

async function stop(n: Node): Promise<void> {
  await n.session.bye("suite done").catch(() => {});
  await n.done;
}

let nextRound = 1;

function roundTask(
  training: Partial<Extract<CoordinatorMessage, { type: "round_task" }>["training"]> = {},
): Extract<CoordinatorMessage, { type: "round_task" }> {
  return {
    type: "round_task",
    roundId: nextRound++,
    scheme: "logreg",
    weights: toNamedTensors(craftedWeights(), SHAPES),
    training: {
      steps: 1,
      sampleRate: 1, // every example, every step: the attacker's best case (no amplification)
      learningRate: LR,
      optimizer: "sgd",
      schedule: "constant",
      warmupSteps: 0,
      maxPhysicalBatch: 32,
      contextLength: null,
      updateClip: null,
      reportUnclipped: false,
      dp: { perExampleClip: 1, noiseMultiplier: 1, delta: DELTA, expectedBatchSize: 50 },
      ...training,
    },
    deadline: Date.now() + 60_000,
  };
}

/** Send a task; resolve with the node's update, or with its error. */
async function ask(n: Node, msg: CoordinatorMessage): Promise<NodeMessage> {
  const roundId = (msg as { roundId: number }).roundId;
  return new Promise((resolve, reject) => {
    const onMessage = (m: NodeMessage) => {
      if (
        (m.type === "update" || m.type === "evaluate_result" || m.type === "error") &&
        m.roundId === roundId
      ) {
        n.session.off("message", onMessage);
        resolve(m);
      }
    };
    n.session.on("message", onMessage);
    n.session.send(msg).catch(reject);
  });
}

/** The attacker's statistic for an update: the (rescaled) step along the canary's gradient. */
function projection(m: NodeMessage): number {
  assert.equal(m.type, "update", JSON.stringify(m).slice(0, 200));
  const u = canaryDirection();
  let s = 0;
  for (const t of (m as Extract<NodeMessage, { type: "update" }>).delta) {
    const dir = t.name === "weight" ? u.weight : u.bias;
    for (let i = 0; i < t.data.length; i++) s += t.data[i]! * dir[i]!;
  }
  return (-s * 50) / LR; // Δ = −lr·(Σ clip(g) + Z)/B  →  ⟨Σ clip(g) + Z, u⟩
}

/** Best threshold test's advantage (two-sample Kolmogorov–Smirnov statistic). */
function advantage(a: number[], b: number[]): number {
  const all = [...a, ...b].sort((x, y) => x - y);
  let best = 0;
  for (const t of all) {
    const fa = a.filter((x) => x <= t).length / a.length;
    const fb = b.filter((x) => x <= t).length / b.length;
    best = Math.max(best, Math.abs(fa - fb));
  }
  return best;
}

/** Largest advantage any test has against a Gaussian mean shift of `ratio` standard deviations. */
function gaussianAdvantage(ratio: number): number {
  const phi = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));
  return 2 * phi(ratio / 2) - 1;
}

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7), enough for a test bound.
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

async function samples(
  n: Node,
  count: number,
  make: () => CoordinatorMessage,
  stat: (m: NodeMessage) => number,
) {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(stat(await ask(n, make())));
  return out;
}

describe("a malicious coordinator against a real node", { timeout: 300_000 }, () => {
  it("sees nothing but the mechanism's output: exact message fields, no counts in the join", async () => {
    const n = await startNode(true);
    assert.deepEqual(Object.keys(n.session.capabilities!).sort(), ["backend", "memoryBytes", "schemes"]);
    const m = await ask(n, roundTask());
    assert.deepEqual(
      Object.keys(m).sort(),
      ["delta", "epsilonSpent", "roundId", "type", "unclipped"],
      JSON.stringify(m),
    );
    // ε is a function of the task alone (σ, q = 1, one step, the run's δ), not of the data.
    const expected = createAccountant("rdp").step({ noiseMultiplier: 1, sampleRate: 1 }).getEpsilon(DELTA);
    assert.ok(Math.abs((m as { epsilonSpent: number }).epsilonSpent - expected) < 1e-12);
    const e = await ask(n, {
      type: "evaluate_task",
      roundId: nextRound++,
      weights: toNamedTensors(craftedWeights(), SHAPES),
      mechanism: { noiseMultiplier: 1, lossBound: 10, delta: DELTA },
      deadline: Date.now() + 60_000,
    });
    assert.deepEqual(Object.keys(e).sort(), [
      "correct",
      "count",
      "epsilonSpent",
      "roundId",
      "scaledLoss",
      "type",
    ]);
    for (const msg of n.sent)
      assert.ok(["update", "evaluate_result", "ack", "error"].includes(msg.type), `unexpected ${msg.type}`);
    await stop(n);
  });

  it("crafted weights + huge learning rate: the canary's presence moves the update only within the DP noise", async () => {
    const trials = 100;
    const make = () => roundTask();
    const inside = await startNode(true);
    const outside = await startNode(false);
    const a = await samples(inside, trials, make, projection);
    const b = await samples(outside, trials, make, projection);
    await Promise.all([stop(inside), stop(outside)]);
    // Canary contributes exactly C = 1 along u; the noise there has std z·C = 1 (×1.001 lattice).
    const bound = gaussianAdvantage(1);
    const adv = advantage(a, b);
    // 1.95·√(2/n) is the two-sample KS critical value at 0.1 %.
    assert.ok(
      adv <= bound + 1.95 * Math.sqrt(2 / trials),
      `advantage ${adv.toFixed(3)} > DP bound ${bound.toFixed(3)}`,
    );

    // Control: the same attack on the same node without noise separates the worlds perfectly.
    const ctlIn = await startNode(true, { random: noNoise() });
    const ctlOut = await startNode(false, { random: noNoise() });
    const ca = await samples(ctlIn, 10, make, projection);
    const cb = await samples(ctlOut, 10, make, projection);
    await Promise.all([stop(ctlIn), stop(ctlOut)]);
    assert.equal(advantage(ca, cb), 1, "without noise the canary is always detected");
  });

  it("repeated evaluation requests: each is noised and charged; the canary moves the sums only within the noise", async () => {
    const trials = 80;
    const make = (): CoordinatorMessage => ({
      type: "evaluate_task",
      roundId: nextRound++,
      weights: toNamedTensors(craftedWeights(), SHAPES),
      mechanism: { noiseMultiplier: 1, lossBound: 10, delta: DELTA },
      deadline: Date.now() + 60_000,
    });
    // The node must have a model to evaluate: one training task first.
    const inside = await startNode(true, { canaryIn: "heldOut" });
    const outside = await startNode(false, { canaryIn: "heldOut" });
    await ask(inside, roundTask());
    await ask(outside, roundTask());
    // The canary adds 1 to the count and ≈1 to the scaled loss (misclassified, loss clipped at the bound).
    const stat = (m: NodeMessage) => {
      assert.equal(m.type, "evaluate_result");
      const r = m as Extract<NodeMessage, { type: "evaluate_result" }>;
      return r.count + r.scaledLoss;
    };
    const a = await samples(inside, trials, make, stat);
    const b = await samples(outside, trials, make, stat);
    // Each evaluation was charged: one training step plus `trials` evaluations at z = 1, q = 1.
    const charged = createAccountant("rdp")
      .step({ noiseMultiplier: 1, sampleRate: 1 })
      .step({ noiseMultiplier: 1, sampleRate: 1, steps: trials })
      .getEpsilon(DELTA);
    assert.ok(Math.abs(inside.runner.epsilon()! - charged) < 1e-9);
    await Promise.all([stop(inside), stop(outside)]);
    // Shift ≤ 2 on a sum of two coordinates each with std z·√3: ratio 2/√6.
    const bound = gaussianAdvantage(2 / Math.sqrt(6));
    const adv = advantage(a, b);
    assert.ok(
      adv <= bound + 1.95 * Math.sqrt(2 / trials),
      `advantage ${adv.toFixed(3)} > DP bound ${bound.toFixed(3)}`,
    );
  });

  it("refuses dp: null, a δ above its own, and anything past its ε limit — before touching its data", async () => {
    const n = await startNode(true, { policy: { maxEpsilon: 10 } });
    const unnoised = await ask(n, roundTask({ dp: null, updateClip: 1 }));
    assert.equal(unnoised.type, "error");
    assert.equal((unnoised as { code: string }).code, "E_NOT_PRIVATE");
    const wideDelta = await ask(
      n,
      roundTask({
        dp: { perExampleClip: 1, noiseMultiplier: 1, delta: 1e-3, expectedBatchSize: 50 },
      }),
    );
    assert.equal((wideDelta as { code: string }).code, "E_DELTA");
    assert.equal(n.runner.epsilon(), null, "nothing was spent by the refused tasks");
    // A task that alone exceeds the limit (tiny noise) is refused outright.
    const greedy = await ask(
      n,
      roundTask({
        dp: {
          perExampleClip: 1,
          noiseMultiplier: 0.2,
          delta: DELTA,
          expectedBatchSize: 50,
        },
      }),
    );
    assert.equal((greedy as { code: string }).code, "E_LOCAL_BUDGET");
    // Honest tasks are served until the next would cross the limit; then refused, ε ≤ 10 throughout.
    let served = 0;
    for (;;) {
      const r = await ask(n, roundTask());
      if (r.type === "error") {
        assert.equal((r as { code: string }).code, "E_LOCAL_BUDGET");
        break;
      }
      served++;
      assert.ok(served < 100);
    }
    assert.ok(served >= 1);
    assert.ok(n.runner.epsilon()! <= 10, `node ε ${n.runner.epsilon()}`);
    for (const m of n.sent.filter((x) => x.type === "update"))
      assert.ok((m as { epsilonSpent: number }).epsilonSpent <= 10);
    await stop(n);
  });
});
