import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createAccountant } from "@memarc/privacy";
import { StateStore } from "../node/state-store.js";
import { localOptimizationFor } from "../plan/local-training-plan.js";
import { ServerSgd } from "../server-optimizer.js";
import { FedAvg } from "../strategy/fedavg.js";
import type { Strategy } from "../strategy/types.js";
import { UserLevelDp } from "../strategy/user-level-dp.js";
import { insecureSeededRandomForTests } from "../testing/insecure-seeded-random.js";
import type { Weights } from "../weights.js";
import { Coordinator, type CoordinatorEvent, type CoordinatorOptions } from "./coordinator.js";
import { PrivacyLedger } from "./ledger.js";
import {
  type EvaluateReply,
  type EvaluateRequest,
  type FitReply,
  type FitRequest,
  type NodePool,
  NotEnoughNodesError,
  type PoolNode,
} from "./node-pool.js";
import { accountantFactory, safetensorsWeightsCodec } from "./wiring.js";

/**
 * A node that "trains" by one exact gradient step on ½‖w − target‖²: Δ = lr·(target − w). Its
 * answers are real computations, so the aggregate has a known value.
 */
interface TestNode {
  id: string;
  target: number[];
  behaviour?: "honest" | "silent" | "nan" | "wrong-shape" | "throws";
}

class InProcessPool implements NodePool {
  readonly requests: { nodeId: string; request: FitRequest }[] = [];
  readonly evaluations: EvaluateRequest[] = [];
  finished: string | null = null;
  /** Called when an evaluation arrives (e.g. to inspect what was persisted before it was dispatched). */
  onEvaluate: ((nodeId: string) => void) | null = null;
  constructor(private readonly members: TestNode[]) {}

  nodes(): PoolNode[] {
    return this.members.map((m) => ({ id: m.id }));
  }

  async waitForNodes(min: number, deadline: number): Promise<PoolNode[]> {
    if (this.members.length >= min) return this.nodes();
    const start = Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
    throw new NotEnoughNodesError(this.members.length, min, Date.now() - start);
  }

  async fit(nodeId: string, request: FitRequest, signal: AbortSignal): Promise<FitReply> {
    this.requests.push({ nodeId, request });
    const m = this.members.find((x) => x.id === nodeId)!;
    const w = request.weights.w!;
    switch (m.behaviour ?? "honest") {
      case "silent":
        return new Promise((_, reject) =>
          signal.addEventListener("abort", () => reject(new Error("aborted"))),
        );
      case "throws":
        throw new Error("node crashed");
      case "nan":
        return { delta: { w: Float32Array.from(w, () => Number.NaN) }, unclipped: null, localEpsilon: null };
      case "wrong-shape":
        return { delta: { w: new Float32Array(w.length + 1) }, unclipped: null, localEpsilon: null };
      default: {
        const delta = Float32Array.from(w, (x, i) => 0.5 * (m.target[i]! - x));
        return { delta: { w: delta }, unclipped: null, localEpsilon: null };
      }
    }
  }

  async evaluate(nodeId: string, request: EvaluateRequest): Promise<EvaluateReply> {
    this.evaluations.push(request);
    this.onEvaluate?.(nodeId);
    // Stand-ins for noised sums: 10 examples each, node a all correct, the others half.
    return { count: 10, correct: nodeId === "a" ? 10 : 5, lossSum: 3 };
  }

  async finish(reason: string): Promise<void> {
    this.finished = reason;
  }
}

const LOCAL = { noiseMultiplier: 1.0, perExampleClip: 1, sampleRate: 0.01, expectedBatchSize: 1, steps: 50 };
const initial = (): Weights => ({ w: new Float32Array(2) });

function setup(
  nodes: TestNode[],
  opts: Partial<CoordinatorOptions> = {},
  dir = mkdtempSync(join(tmpdir(), "memarc-coord-")),
  resume = false,
  strategy: Strategy = new FedAvg({ localDp: LOCAL }),
) {
  const pool = new InProcessPool(nodes);
  const events: CoordinatorEvent[] = [];
  const factory = accountantFactory("rdp");
  const store = new StateStore(dir, safetensorsWeightsCodec);
  const ledger =
    resume && store.exists()
      ? PrivacyLedger.fromJSON(factory, store.load().state.ledger)
      : new PrivacyLedger(factory);
  const c = new Coordinator(
    {
      rounds: 2,
      minNodes: 1,
      waitForNodesMs: 200,
      roundTimeoutMs: 300,
      evaluateEvery: 1,
      federatedEvaluation: null,
      budget: { epsilon: 100, delta: 1e-5 },
      governs: "example",
      training: localOptimizationFor("side"),
      fingerprint: "test-v1",
      ...opts,
    },
    {
      strategy,
      optimizer: new ServerSgd(1),
      ledger,
      store,
      pool,
      initialWeights: initial(),
      onEvent: (e) => events.push(e),
    },
    { resume },
  );
  return { c, pool, events, dir, ledger };
}

const nodes3 = (): TestNode[] => [
  { id: "a", target: [1, 0] },
  { id: "b", target: [0, 1] },
  { id: "c", target: [1, 1] },
];

describe("Coordinator round loop", () => {
  it("runs rounds, aggregates, accounts every node's local steps, and persists", async () => {
    const { c, pool, events, dir } = setup(nodes3());
    const summary = await c.run();
    assert.equal(summary.completedRound, 2);
    assert.equal(summary.stopReason, "completed");
    // Round 1: w = 0.5·mean([1,0], [0,1], [1,1]) = [1/3, 1/3]; round 2 halves the gap to [2/3, 2/3].
    const w = Array.from(summary.weights.w!);
    assert.ok(Math.abs(w[0]! - 0.5) < 1e-6 && Math.abs(w[1]! - 0.5) < 1e-6, `weights ${w}`);
    // Every node ran 2 rounds × 50 steps at (σ=1, q=0.01): ε must equal a fresh accountant's.
    const expected = createAccountant("rdp")
      .step({ ...LOCAL, steps: 100 })
      .getEpsilon(1e-5);
    assert.ok(Math.abs(summary.epsilon.example! - expected) < 1e-12);
    assert.equal(summary.epsilon.user, null);
    // Each task's plan: the run's settings and the strategy's DP settings, at the run's δ.
    const plan = pool.requests[0]!.request.plan;
    assert.equal(plan.scheme, "side");
    assert.equal(plan.optimizer, localOptimizationFor("side").optimizer);
    assert.deepEqual(
      [
        plan.dp?.noiseMultiplier,
        plan.dp?.perExampleClip,
        plan.sampleRate,
        plan.dp?.expectedBatchSize,
        plan.steps,
      ],
      [LOCAL.noiseMultiplier, LOCAL.perExampleClip, LOCAL.sampleRate, LOCAL.expectedBatchSize, LOCAL.steps],
    );
    assert.equal(plan.dp?.delta, 1e-5);
    assert.equal(pool.evaluations.length, 0, "nodes are never asked to evaluate unless asked for");
    assert.equal(summary.metrics.federated_accuracy, undefined);
    assert.equal(pool.finished, "completed");
    assert.ok(events.some((e) => e.type === "round-end"));
    const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
    assert.equal(state.completedRound, 2);
    assert.equal(state.nodes.c.roundsCompleted, 2);
    assert.deepEqual(readdirSync(dir).sort(), ["global-000002.weights", "state.json"]);
  });

  it("resumes from the last completed round with the same ε and weights", async () => {
    const first = setup(nodes3(), { rounds: 2 });
    const s1 = await first.c.run();
    const second = setup(nodes3(), { rounds: 3 }, first.dir, true);
    assert.equal(second.c.epsilon().example, s1.epsilon.example);
    assert.deepEqual(Array.from(second.c.weights.w!), Array.from(s1.weights.w!));
    const s2 = await second.c.run();
    assert.equal(s2.completedRound, 3);
    assert.ok(s2.epsilon.example! > s1.epsilon.example!);
    // Only round 3 was dispatched by the resumed run.
    assert.deepEqual([...new Set(second.pool.requests.map((r) => r.request.round))], [3]);
  });

  it("refuses to start over an existing run without --resume, and to resume other settings", async () => {
    const first = setup(nodes3());
    await first.c.run();
    assert.throws(() => setup(nodes3(), {}, first.dir, false), /already holds a run/);
    assert.throws(() => setup(nodes3(), { fingerprint: "other" }, first.dir, true), /different settings/);
  });

  it("refuses a round that would exceed the budget and stops cleanly", async () => {
    const perRound = createAccountant("rdp").step(LOCAL).getEpsilon(1e-5);
    const twoRounds = createAccountant("rdp")
      .step({ ...LOCAL, steps: 100 })
      .getEpsilon(1e-5);
    const { c, pool } = setup(nodes3(), {
      rounds: 5,
      budget: { epsilon: (perRound + twoRounds) / 2 + 0.01, delta: 1e-5 },
    });
    const s = await c.run();
    assert.equal(s.stopReason, "budget-exhausted");
    assert.equal(s.completedRound, 1);
    assert.ok(s.epsilon.example! <= (perRound + twoRounds) / 2 + 0.01);
    assert.equal(pool.finished, "budget-exhausted");
    assert.ok(!pool.requests.some((r) => r.request.round === 2), "round 2 must never be dispatched");
  });

  it("drops a straggler at the deadline without breaking the round", async () => {
    const nodes = nodes3();
    nodes[1]!.behaviour = "silent";
    const { c } = setup(nodes, { rounds: 1, roundTimeoutMs: 150 });
    const s = await c.run();
    assert.equal(s.completedRound, 1);
    const rec = c.currentState.history[0]!;
    assert.deepEqual(rec.participants, ["a", "c"]);
    assert.match(rec.failures[0]!.reason, /deadline/);
    // The straggler was dispatched, so its examples were charged all the same.
    assert.deepEqual(Object.keys(c.currentState.ledger.example).sort(), ["a", "b", "c"]);
  });

  it("rejects NaN and wrong-shape updates; the aggregate equals the honest nodes' aggregate", async () => {
    const bad = [...nodes3(), { id: "x", target: [9, 9], behaviour: "nan" as const }];
    bad.push({ id: "y", target: [9, 9], behaviour: "wrong-shape" });
    const withBad = setup(bad, { rounds: 1 });
    const honest = setup(nodes3(), { rounds: 1 });
    const [s1, s2] = [await withBad.c.run(), await honest.c.run()];
    assert.deepEqual(Array.from(s1.weights.w!), Array.from(s2.weights.w!));
    const rejected = withBad.events
      .filter((e) => e.type === "node-rejected")
      .map((e) => (e as { nodeId: string }).nodeId);
    assert.deepEqual(rejected.sort(), ["x", "y"]);
    assert.equal(withBad.c.currentState.nodes.x!.rejectedMessages, 1);
  });

  it("gives up with E_NOT_ENOUGH_NODES after the wait deadline (no silent hang)", async () => {
    const { c, pool } = setup(nodes3(), { minNodes: 5, waitForNodesMs: 100 });
    await assert.rejects(c.run(), (e: Error & { code?: string }) => e.code === "E_NOT_ENOUGH_NODES");
    assert.match(pool.finished ?? "", /only 3 of the 5/);
  });

  it("user-level DP: charges (z, q) once per round and reports both units", async () => {
    const strategy = new UserLevelDp(new FedAvg({ localDp: LOCAL }), {
      noiseMultiplier: 1.5,
      sampleRate: 1,
      updateClip: 1,
      random: insecureSeededRandomForTests(1),
    });
    const { c } = setup(nodes3(), { rounds: 2, governs: "user" }, undefined, false, strategy);
    const s = await c.run();
    const expectedUser = createAccountant("rdp")
      .step({ noiseMultiplier: 1.5, sampleRate: 1, steps: 2 })
      .getEpsilon(1e-5);
    assert.ok(Math.abs(s.epsilon.user! - expectedUser) < 1e-12);
    assert.ok(s.epsilon.example! > 0);
  });

  it("federated evaluation is a charged mechanism: recorded and persisted before any node evaluates", async () => {
    const mechanism = { noiseMultiplier: 5, lossBound: 10 };
    const { c, pool, dir } = setup(nodes3(), { rounds: 2, federatedEvaluation: mechanism });
    const persisted: number[] = [];
    pool.onEvaluate = (id) => {
      const ledger = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).ledger;
      const history = ledger.example[id].history as { noiseMultiplier: number }[];
      persisted.push(history.filter((e) => e.noiseMultiplier === 5).length);
    };
    const s = await c.run();
    assert.equal(pool.evaluations.length, 6);
    for (const r of pool.evaluations) assert.deepEqual(r.mechanism, mechanism);
    // Each node's evaluation was already on disk when it was asked (1 in round 1, 2 in round 2).
    assert.deepEqual(persisted.sort(), [1, 1, 1, 2, 2, 2]);
    const expected = createAccountant("rdp")
      .step({ ...LOCAL, steps: 50 })
      .step({ noiseMultiplier: 5, sampleRate: 1 })
      .step({ ...LOCAL, steps: 50 })
      .step({ noiseMultiplier: 5, sampleRate: 1 })
      .getEpsilon(1e-5);
    assert.ok(Math.abs(s.epsilon.example! - expected) < 1e-12, `${s.epsilon.example} vs ${expected}`);
    assert.equal(s.metrics.federated_accuracy, 20 / 30);
    assert.equal(s.metrics.federated_loss, 9 / 30);
  });

  it("skips a federated evaluation that would exceed the budget, and refuses one under user-level DP", async () => {
    const twoRounds = createAccountant("rdp")
      .step({ ...LOCAL, steps: 100 })
      .getEpsilon(1e-5);
    const { c, pool, events } = setup(nodes3(), {
      rounds: 2,
      evaluateEvery: 1,
      budget: { epsilon: twoRounds + 1e-6, delta: 1e-5 },
      federatedEvaluation: { noiseMultiplier: 1, lossBound: 10 },
    });
    const s = await c.run();
    assert.equal(s.completedRound, 2);
    assert.equal(pool.evaluations.length, 0);
    assert.ok(s.epsilon.example! <= twoRounds + 1e-6);
    assert.ok(events.some((e) => e.type === "evaluation-skipped"));
    assert.throws(
      () => setup(nodes3(), { governs: "user", federatedEvaluation: { noiseMultiplier: 1, lossBound: 1 } }),
      /user-level run evaluates on the coordinator's own test data/,
    );
  });

  it("refuses to resume state it cannot trust: missing, empty, truncated, hand-edited, or weights replaced", async () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return `${(err as { code?: string }).code}: ${(err as Error).message}`;
      }
      return "resumed";
    };
    const missing = mkdtempSync(join(tmpdir(), "memarc-none-"));
    assert.match(
      code(() => setup(nodes3(), {}, missing, true)),
      /^E_STATE: nothing to resume/,
    );

    const { c, dir } = setup(nodes3());
    await c.run();
    const statePath = join(dir, "state.json");
    const good = readFileSync(statePath, "utf8");
    for (const bad of ["", "{}", good.slice(0, good.length >> 1), "[1,2]"]) {
      writeFileSync(statePath, bad);
      assert.match(
        code(() => setup(nodes3(), {}, dir, true)),
        /^E_STATE/,
        JSON.stringify(bad.slice(0, 20)),
      );
    }
    // A hand edit (here: a smaller noise multiplier in the ledger) breaks the checksum.
    writeFileSync(statePath, good.replace('"noiseMultiplier": 1', '"noiseMultiplier": 2'));
    assert.match(
      code(() => setup(nodes3(), {}, dir, true)),
      /^E_STATE: .*fails its checksum/,
    );
    writeFileSync(statePath, good);
    // Weights flipped on disk: refused by the checksum state.json keeps for them.
    const weightsFile = readdirSync(dir).find((f) => f.endsWith(".weights"))!;
    const bytes = readFileSync(join(dir, weightsFile));
    for (let i = bytes.length - 8; i < bytes.length; i++) bytes[i] = bytes[i]! ^ 0xff;
    writeFileSync(join(dir, weightsFile), bytes);
    assert.match(
      code(() => setup(nodes3(), {}, dir, true)),
      /^E_STATE: .*does not match the checksum/,
    );
  });

  it("refuses to resume a ledger that no longer covers the completed rounds (ε cannot be reset)", async () => {
    const { c, dir } = setup(nodes3());
    await c.run();
    const store = new StateStore(dir, safetensorsWeightsCodec);
    const { state } = store.load();
    // A consistent rewrite (checksum recomputed) that empties one node's accountant.
    const emptied = structuredClone(state);
    delete (emptied.ledger.example as Record<string, unknown>).b;
    store.saveState(emptied);
    assert.throws(
      () => setup(nodes3(), {}, dir, true),
      (e: Error & { code?: string }) => e.code === "E_STATE" && /less ε for node b/.test(e.message),
    );
    // A ledger from an earlier round (one round of events instead of two).
    const rolledBack = structuredClone(state);
    const oneRound = new PrivacyLedger(accountantFactory("rdp"));
    oneRound.record(state.history[0]!.events);
    rolledBack.ledger = oneRound.toJSON();
    store.saveState(rolledBack);
    assert.throws(() => setup(nodes3(), {}, dir, true), /refusing to resume/);
    // A malformed ledger is E_STATE too, naming the part.
    const malformed = structuredClone(state);
    (malformed.ledger.example as Record<string, unknown>).a = { kind: "rdp", version: 1, history: "x" };
    store.saveState(malformed);
    assert.throws(
      () => setup(nodes3(), {}, dir, true),
      (e: Error & { code?: string }) => e.code === "E_STATE" && /node a/.test(e.message),
    );
    // The intact state resumes.
    store.saveState(state);
    assert.doesNotThrow(() => setup(nodes3(), { rounds: 3 }, dir, true));
  });

  it("stops with E_NO_UPDATES when every dispatched node fails, instead of spending the budget", async () => {
    const broken = nodes3().map((n) => ({ ...n, behaviour: "throws" as const }));
    const { c, pool } = setup(broken, { rounds: 5 });
    await assert.rejects(
      c.run(),
      (e: Error & { code?: string }) =>
        e.code === "E_NO_UPDATES" && /round 1 brought no usable update/.test(e.message),
    );
    assert.match(pool.finished ?? "", /no usable update/);
    assert.equal(c.currentState.completedRound, 0);
    assert.ok(!pool.requests.some((r) => r.request.round === 2), "round 2 is never dispatched");
  });
});
