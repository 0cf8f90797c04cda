/**
 * NodeRunner's connection life cycle over real sockets on 127.0.0.1: how it reports reconnection
 * attempts, and that a coordinator's bye ends the run with the bye's reason.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { AllowList, generateIdentity, MemoryLogger, type ServerSession } from "@memarc/protocol";
import { ServerChannel } from "@memarc/protocol/node";
import { fixtures } from "@memarc/protocol/testing";
import { insecureSeededTrainingRandomForTests } from "@memarc/train/testing";
import type { LocalModel } from "../client/local-model.js";
import { type NodeEvent, NodeRunner, type NodeRunnerOptions } from "./node-runner.js";

const coordId = generateIdentity();
const nodeId = generateIdentity();

/** A port nothing listens on (yet): bound by the OS for a moment, then released. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function options(port: number, extra: Partial<NodeRunnerOptions> = {}): NodeRunnerOptions {
  return {
    url: `http://127.0.0.1:${port}`,
    identity: nodeId,
    coordinatorKey: coordId.publicKey,
    capabilities: { backend: "wasm", memoryBytes: 1 << 30, schemes: ["lora"] },
    model: () => Promise.reject(new Error("this test trains nothing")),
    random: insecureSeededTrainingRandomForTests(1),
    policy: { maxEpsilon: null, maxDelta: 1e-5, acceptCentralDp: false },
    logger: new MemoryLogger(),
    backoff: { initialMs: 50, maxMs: 50 },
    // A bug that makes the node reconnect forever ends the run as "aborted" instead of hanging the test.
    signal: AbortSignal.timeout(20_000),
    ...extra,
  };
}

function listen(port: number, onSession: (s: ServerSession) => void): Promise<ServerChannel> {
  return ServerChannel.listen({
    identity: coordId,
    allowList: new AllowList([nodeId.publicKey]),
    host: "127.0.0.1",
    port,
    logger: new MemoryLogger(),
  }).then((server) => server.on("session", onSession));
}

describe("node runner connection life cycle", () => {
  it("reports the attempt that got through: n after n − 1 failed tries", async () => {
    const port = await freePort();
    const logger = new MemoryLogger();
    const failedTries = () =>
      logger.records.filter((x) => x.event.startsWith("cannot reach coordinator")).length;
    const connects: { attempt: number; failedBefore: number }[] = [];
    const node = new NodeRunner(
      options(port, {
        logger,
        onEvent: (e) => {
          if (e.type === "connected") connects.push({ attempt: e.attempt, failedBefore: failedTries() });
        },
      }),
    );
    const done = node.run();
    // Nothing listens yet: let the node fail at least twice before the coordinator comes up.
    while (failedTries() < 2) await new Promise((res) => setTimeout(res, 10));
    // The bye comes once the node is waiting for tasks (an immediate one is the last test's case).
    const server = await listen(port, (s) => void setTimeout(() => s.bye("run complete"), 100));
    try {
      assert.equal((await done).reason, "run complete");
      assert.equal(connects.length, 1);
      const [c] = connects as [{ attempt: number; failedBefore: number }];
      assert.ok(c.failedBefore >= 2, `${c.failedBefore} failed tries logged before connecting`);
      assert.equal(c.attempt, c.failedBefore + 1);
    } finally {
      await server.close();
    }
  });

  it("a bye that arrives while the node is busy ends the run with the bye's reason", async () => {
    const port = await freePort();
    // The node is still building its model when the bye arrives: the bye is not read by next() but
    // closes the session, and the runner must recognise the close as the coordinator's goodbye.
    const slowModel = () =>
      new Promise<LocalModel>((_, reject) => setTimeout(() => reject(new Error("no model")), 300));
    const events: NodeEvent["type"][] = [];
    const node = new NodeRunner(options(port, { model: slowModel, onEvent: (e) => events.push(e.type) }));
    const server = await listen(port, (s) => {
      void s.send(fixtures.roundTask(1)).then(() => s.bye("budget spent"));
    });
    try {
      const summary = await node.run();
      assert.equal(summary.reason, "budget spent");
      assert.deepEqual(events, ["connected", "refused", "finished"]);
    } finally {
      await server.close();
    }
  });

  it("a bye sent the moment the node joins, before it reads any message, still ends the run", async () => {
    const port = await freePort();
    const events: NodeEvent["type"][] = [];
    const node = new NodeRunner(options(port, { onEvent: (e) => events.push(e.type) }));
    const server = await listen(port, (s) => void s.bye("nothing left to do"));
    try {
      assert.equal((await node.run()).reason, "nothing left to do");
      assert.deepEqual(events, ["connected", "finished"]);
    } finally {
      await server.close();
    }
  });
});
