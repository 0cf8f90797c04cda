/**
 * The federation runtime over real sockets on 127.0.0.1: a Coordinator driving a SocketNodePool on a
 * ServerChannel, and NodeRunners (real LocalTrainers on a real model) over ClientChannels.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { createAccountant } from "@memarc/privacy";
import { AllowList, generateIdentity, type Identity, MemoryLogger } from "@memarc/protocol";
import { ServerChannel } from "@memarc/protocol/node";
import { fixtures, RogueClient } from "@memarc/protocol/testing";
import { initBackend } from "@memarc/tensor";
import { insecureSeededTrainingRandomForTests } from "@memarc/train/testing";
import { Coordinator, type CoordinatorEvent } from "../coordinator/coordinator.js";
import { PrivacyLedger } from "../coordinator/ledger.js";
import { accountantFactory, safetensorsWeightsCodec } from "../coordinator/wiring.js";
import { StateStore } from "../node/state-store.js";
import { localOptimizationFor } from "../plan/local-training-plan.js";
import { ServerSgd } from "../server-optimizer.js";
import { FedAvg } from "../strategy/fedavg.js";
import type { Strategy } from "../strategy/types.js";
import { UserLevelDp } from "../strategy/user-level-dp.js";
import { insecureSeededRandomForTests } from "../testing/insecure-seeded-random.js";
import { logregLocalModel } from "../testing/logreg-model.js";
import { syntheticTextTask } from "../testing/text-corpus.js";
import type { Weights } from "../weights.js";
import { NodeRunner } from "./node-runner.js";
import { SocketNodePool } from "./socket-pool.js";

const DIM = 64;
const DELTA = 1e-5;
const coordId = generateIdentity();

before(async () => {
  await initBackend({ log: null });
});

function localModel(seed: number) {
  return logregLocalModel(syntheticTextTask(120, seed), syntheticTextTask(40, seed + 1000), 2, DIM);
}

function initialWeights(): Weights {
  return { bias: new Float32Array(2), weight: new Float32Array(DIM * 2) };
}

const shapes = { weight: [DIM, 2], bias: [2] };

interface RunOptions {
  nodes: Identity[];
  allow?: Identity[];
  rounds?: number;
  strategy?: Strategy;
  governs?: "example" | "user";
  roundTimeoutMs?: number;
  federatedEvaluation?: boolean;
  onEvent?: (e: CoordinatorEvent) => void;
}

/** Example-level DP on every node: 5 local steps at q = 0.1 (~12 of 120 examples), σ = 1, C = 1. */
const fiveLocalSteps = {
  noiseMultiplier: 1,
  perExampleClip: 1,
  sampleRate: 0.1,
  expectedBatchSize: 12,
  steps: 5,
};
/** Private federated evaluation on the nodes' held-out examples. */
const EVALUATION = { noiseMultiplier: 2, lossBound: 10 };

async function startCoordinator(o: RunOptions) {
  const server = await ServerChannel.listen({
    identity: coordId,
    allowList: new AllowList((o.allow ?? o.nodes).map((n) => n.publicKey)),
    logger: new MemoryLogger(),
  });
  const pool = new SocketNodePool(server, shapes, DELTA);
  const coordinator = new Coordinator(
    {
      rounds: o.rounds ?? 2,
      minNodes: o.nodes.length,
      waitForNodesMs: 20_000,
      roundTimeoutMs: o.roundTimeoutMs ?? 30_000,
      evaluateEvery: 1,
      federatedEvaluation: o.federatedEvaluation ? EVALUATION : null,
      budget: { epsilon: 50, delta: DELTA },
      governs: o.governs ?? "example",
      training: localOptimizationFor("logreg", { learningRate: 0.5, optimizer: "sgd", sampleRate: 0.1 }),
      fingerprint: "fed-test",
    },
    {
      strategy:
        o.strategy ??
        new FedAvg({
          localDp: fiveLocalSteps,
        }),
      optimizer: new ServerSgd(1),
      ledger: new PrivacyLedger(accountantFactory("rdp")),
      store: new StateStore(mkdtempSync(join(tmpdir(), "memarc-fed-")), safetensorsWeightsCodec),
      pool,
      initialWeights: initialWeights(),
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    },
    { resume: false },
  );
  return { server, pool, coordinator };
}

function startNode(
  server: ServerChannel,
  id: Identity,
  seed: number,
  extra: Partial<ConstructorParameters<typeof NodeRunner>[0]> = {},
) {
  const runner = new NodeRunner({
    url: server.url,
    identity: id,
    coordinatorKey: coordId.publicKey,
    capabilities: { backend: "wasm", memoryBytes: 1 << 30, schemes: ["logreg"] },
    model: async () => localModel(seed),
    random: insecureSeededTrainingRandomForTests(seed),
    policy: { maxEpsilon: null, maxDelta: DELTA, acceptCentralDp: false },
    logger: new MemoryLogger(),
    backoff: { initialMs: 100, maxMs: 500 },
    ...extra,
  });
  return { runner, done: runner.run() };
}

describe("federation over real sockets", () => {
  it("example-level: 3 nodes, 2 rounds; the ledger composes every node's local steps and private evaluations", async () => {
    const ids = [generateIdentity(), generateIdentity(), generateIdentity()];
    const { server, coordinator } = await startCoordinator({ nodes: ids, federatedEvaluation: true });
    const nodes = ids.map((id, i) => startNode(server, id, i + 1));
    const summary = await coordinator.run();
    const finished = await Promise.all(nodes.map((n) => n.done));
    await server.close();
    assert.equal(summary.completedRound, 2);
    assert.deepEqual(
      finished.map((f) => f.reason),
      ["completed", "completed", "completed"],
    );
    const perNode = createAccountant("rdp")
      .step({ noiseMultiplier: 1, sampleRate: 0.1, steps: 5 })
      .step({ noiseMultiplier: 2, sampleRate: 1 })
      .step({ noiseMultiplier: 1, sampleRate: 0.1, steps: 5 })
      .step({ noiseMultiplier: 2, sampleRate: 1 })
      .getEpsilon(DELTA);
    assert.ok(Math.abs(summary.epsilon.example! - perNode) < 1e-9);
    for (const f of finished)
      assert.ok(Math.abs(f.epsilon! - perNode) < 1e-9, `node ε ${f.epsilon} vs ledger ${perNode}`);
    assert.equal(summary.epsilon.user, null);
    assert.ok(summary.metrics.federated_accuracy! > 0.7, `accuracy ${summary.metrics.federated_accuracy}`);
  });

  it("user-level: DP-FedAvg over sockets reports both units", async () => {
    const ids = [generateIdentity(), generateIdentity(), generateIdentity()];
    const strategy = new UserLevelDp(
      new FedAvg({
        localDp: fiveLocalSteps,
      }),
      { noiseMultiplier: 1.2, sampleRate: 1, updateClip: 5, random: insecureSeededRandomForTests(5) },
    );
    const { server, coordinator } = await startCoordinator({ nodes: ids, strategy, governs: "user" });
    const nodes = ids.map((id, i) => startNode(server, id, i + 11));
    const summary = await coordinator.run();
    await Promise.all(nodes.map((n) => n.done));
    await server.close();
    const user = createAccountant("rdp")
      .step({ noiseMultiplier: 1.2, sampleRate: 1, steps: 2 })
      .getEpsilon(DELTA);
    assert.ok(Math.abs(summary.epsilon.user! - user) < 1e-9);
    assert.ok(summary.epsilon.example! > 0);
  });

  it("a node killed mid-round does not stop the round", async () => {
    const ids = [generateIdentity(), generateIdentity(), generateIdentity()];
    const { server, coordinator } = await startCoordinator({ nodes: ids, rounds: 1 });
    const ctl = new AbortController();
    const victim = startNode(server, ids[2]!, 23, {
      signal: ctl.signal,
      onEvent: (e) => {
        if (e.type === "step" && e.step === 2) ctl.abort();
      },
    });
    const others = [startNode(server, ids[0]!, 21), startNode(server, ids[1]!, 22)];
    const summary = await coordinator.run();
    await Promise.all([...others.map((n) => n.done), victim.done]);
    await server.close();
    assert.equal(summary.completedRound, 1);
    const rec = coordinator.currentState.history[0]!;
    assert.equal(rec.participants.length, 2);
    assert.equal(rec.failures.length, 1);
    assert.equal(rec.failures[0]!.nodeId, Buffer.from(ids[2]!.publicKey).toString("base64"));
  });

  it("refuses a node that is not in the allow-list while the others train", async () => {
    const ids = [generateIdentity(), generateIdentity()];
    const stranger = generateIdentity();
    const { server, coordinator } = await startCoordinator({ nodes: ids, rounds: 1 });
    const refused = startNode(server, stranger, 30, { maxAttempts: 1 });
    await assert.rejects(refused.done, (e: Error & { code?: string }) => e.code === "E_NOT_ADMITTED");
    const nodes = ids.map((id, i) => startNode(server, id, i + 31));
    const summary = await coordinator.run();
    await Promise.all(nodes.map((n) => n.done));
    await server.close();
    assert.equal(summary.completedRound, 1);
  });

  it("rejects a hostile node's NaN and wrong-shape updates; the aggregate equals the honest nodes'", async () => {
    const ids = [generateIdentity(), generateIdentity()];
    const rogueIds = [generateIdentity(), generateIdentity()];
    // No local noise (nodes accept central DP, updates clipped to 100): the aggregate is deterministic.
    const fedAvg = () => new FedAvg({ updateNormBound: 100 });
    const central = { policy: { maxEpsilon: null, maxDelta: DELTA, acceptCentralDp: true } };
    const honestOnly = await startCoordinator({ nodes: ids, rounds: 1, strategy: fedAvg() });
    const h = ids.map((id, i) => startNode(honestOnly.server, id, i + 41, central));
    const expected = await honestOnly.coordinator.run();
    await Promise.all(h.map((n) => n.done));
    await honestOnly.server.close();

    const rejected: string[] = [];
    const mixed = await startCoordinator({
      nodes: [...ids, ...rogueIds],
      rounds: 1,
      strategy: fedAvg(),
      roundTimeoutMs: 6000,
      onEvent: (e) => {
        if (e.type === "round-end") rejected.push(...e.record.failures.map((f) => f.nodeId));
      },
    });
    const honest = ids.map((id, i) => startNode(mixed.server, id, i + 41, central));
    const rogues = await Promise.all(
      rogueIds.map((id) =>
        RogueClient.connect({ url: mixed.server.url, identity: id, coordinatorKey: coordId.publicKey }),
      ),
    );
    const hostile = rogues.map(async (r, k) => {
      const task = (await r.nextMessage(20_000)) as {
        type: string;
        roundId: number;
        weights: { name: string; shape: number[]; data: Float32Array }[];
      };
      assert.equal(task.type, "round_task");
      const delta = task.weights.map((t) => ({ ...t, data: new Float32Array(t.data.length) }));
      if (k === 0) delta[0]!.data[0] = Number.NaN;
      else
        delta[1] = {
          ...delta[1]!,
          shape: [delta[1]!.shape[0]! * 2],
          data: new Float32Array(delta[1]!.data.length * 2),
        };
      const update = { ...fixtures.update(task.roundId), delta };
      await r.send(update, { sign: true });
    });
    const summary = await mixed.coordinator.run();
    await Promise.all([...honest.map((n) => n.done), ...hostile]);
    for (const r of rogues) r.close();
    await mixed.server.close();
    assert.deepEqual(
      rejected.sort(),
      rogueIds.map((i) => Buffer.from(i.publicKey).toString("base64")).sort(),
    );
    for (const k of Object.keys(expected.weights)) {
      assert.deepEqual(Array.from(summary.weights[k]!), Array.from(expected.weights[k]!), `tensor ${k}`);
    }
  });
});
