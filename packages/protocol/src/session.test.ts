import assert from "node:assert/strict";
import { describe, it } from "node:test";
import nacl from "tweetnacl";
import type { CloseReason } from "./close-reason.js";
import { TimeoutError } from "./errors.js";
import type { ChunkAck } from "./events.js";
import { generateIdentity } from "./identity.js";
import { MemoryLogger } from "./logger.js";
import { DEFAULT_LIMITS } from "./messages.js";
import { type ClientSession, SecureSession, type ServerSession } from "./session.js";
import * as fx from "./testing/fixtures.js";
import { DEFAULT_TIMING, type EnvelopeTransport } from "./transfer/transport.js";

/** Two sessions joined by an in-memory wire that can lose envelopes (the socket.io twin). */
function pair(
  o: {
    drop?: (seq: number) => boolean;
    timing?: Partial<typeof DEFAULT_TIMING>;
    maxEnvelopeBytes?: number;
    /** Sees every envelope the node sends (to replay one). */
    tap?: (envelope: Uint8Array) => void;
  } = {},
) {
  const key = nacl.randomBytes(32);
  const node = generateIdentity();
  const coordId = generateIdentity();
  const timing = { ...DEFAULT_TIMING, ackTimeoutMs: 100, ...o.timing };
  const limits = { ...DEFAULT_LIMITS, maxEnvelopeBytes: o.maxEnvelopeBytes ?? 4096 };
  let seq = 0;
  const peers: { c?: ServerSession; n?: ClientSession } = {};
  const wire = (to: () => { receive(e: unknown): ChunkAck }, drop: boolean): EnvelopeTransport => ({
    send: (env, timeoutMs) =>
      new Promise((resolve, reject) => {
        const s = seq++;
        if (drop) o.tap?.(env);
        if (drop && o.drop?.(s)) {
          setTimeout(() => reject(new TimeoutError("dropped")), timeoutMs);
          return;
        }
        setImmediate(() => resolve(to().receive(env)));
      }),
    close() {},
  });
  const clog = new MemoryLogger();
  const nlog = new MemoryLogger();
  peers.c = new SecureSession({
    role: "coordinator",
    key,
    transport: wire(() => peers.n as ClientSession, false),
    nodeId: node.publicKey,
    peerKey: node.publicKey,
    limits,
    timing,
    logger: clog,
  });
  peers.n = new SecureSession({
    role: "node",
    key,
    transport: wire(() => peers.c as ServerSession, true),
    nodeId: node.publicKey,
    peerKey: coordId.publicKey,
    identity: node,
    limits,
    timing,
    logger: nlog,
  });
  return { c: peers.c, n: peers.n, clog, nlog };
}

describe("secure session (in-memory transport)", () => {
  it("delivers a multi-chunk update with a verified signature", async () => {
    const { c, n } = pair();
    c.expectUpdate(
      7,
      fx.update(7, 3000).delta.map((t) => ({ name: t.name, shape: t.shape })),
    );
    const got = c.next("update");
    await n.send(fx.update(7, 3000));
    const m = await got;
    assert.deepEqual(m, fx.update(7, 3000));
  });

  it("resends a lost chunk and the receiver treats the resend idempotently", async () => {
    const dropped: number[] = [];
    const { c, n, nlog } = pair({
      drop: (s) => {
        if (s === 2) {
          dropped.push(s);
          return true;
        }
        return false;
      },
    });
    c.expectUpdate(
      7,
      fx.update(7, 3000).delta.map((t) => ({ name: t.name, shape: t.shape })),
    );
    const got = c.next("update");
    await n.send(fx.update(7, 3000));
    assert.deepEqual((await got).delta, fx.update(7, 3000).delta);
    assert.deepEqual(dropped, [2]);
    assert.ok(nlog.records.some((r) => r.event === "chunk unacknowledged, resending"));
  });

  it("a chunk that never arrives: sender gets E_TIMEOUT, receiver drops the transfer with E_CHUNK", async () => {
    const { c, n } = pair({ drop: (s) => s === 1, timing: { retries: 0, window: 8, transferTimeoutMs: 80 } });
    c.expectUpdate(
      7,
      fx.update(7, 3000).delta.map((t) => ({ name: t.name, shape: t.shape })),
    );
    const errors: string[] = [];
    c.on("error", (e) => errors.push(`${e.code}:${JSON.stringify(e.details?.missing)}`));
    await assert.rejects(n.send(fx.update(7, 3000)), (e: Error & { code: string }) => e.code === "E_TIMEOUT");
    await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual(errors, ["E_CHUNK:[1]"]);
    assert.equal(c.closed, false);
  });

  it("refuses to send a message over the size limit, or an invalid one, before anything is sent", async () => {
    const { n } = pair();
    const big = new SecureSession({
      role: "node",
      key: nacl.randomBytes(32),
      transport: { send: () => Promise.reject(new Error("must not send")), close() {} },
      nodeId: n.nodeId,
      peerKey: n.peerKey,
      identity: generateIdentity(),
      limits: { ...DEFAULT_LIMITS, maxMessageBytes: 1000 },
      logger: new MemoryLogger(),
    });
    await assert.rejects(
      big.send(fx.update(7, 1000)),
      (e: Error & { code: string }) => e.code === "E_TOO_LARGE",
    );
    const nan = fx.update();
    (nan.delta[0] as { data: Float32Array }).data[0] = Number.NaN;
    await assert.rejects(n.send(nan), (e: Error & { code: string }) => e.code === "E_SCHEMA");
  });

  it("messages that arrive before a listener is attached are queued, not lost", async () => {
    const { c, n } = pair();
    await c.send(fx.roundTask(1));
    await c.send(fx.evaluateTask(1));
    const seen: string[] = [];
    n.on("message", (m) => seen.push(m.type));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, ["round_task", "evaluate_task"]);
  });
});

describe("secure session close reasons", () => {
  const closeOf = (s: { on(e: "close", fn: (r: CloseReason) => void): unknown }) =>
    new Promise<CloseReason>((resolve) => s.on("close", resolve));

  it("a bye closes both ends as {kind: bye}: by self at the sender, by peer at the receiver", async () => {
    const { c, n } = pair();
    const atCoordinator = closeOf(c);
    const atNode = closeOf(n);
    await c.bye("training finished");
    assert.deepEqual(await atCoordinator, { kind: "bye", by: "self", reason: "training finished" });
    assert.deepEqual(await atNode, { kind: "bye", by: "peer", reason: "training finished" });
    assert.equal(n.closed, true);
    await assert.rejects(n.next(), (e: Error & { code: string }) => e.code === "E_CLOSED");
  });

  it("a fatal protocol error closes as {kind: error} carrying that error, and next() rejects with it", async () => {
    const sent: Uint8Array[] = [];
    const { c, n } = pair({ tap: (env) => sent.push(env.slice()) });
    await n.send(fx.ack);
    const waiting = c.next("update");
    const closed = closeOf(c);
    // The same envelope again: its counter is not new, a replay (fatal).
    const ack = c.receive(sent[0]);
    assert.equal(ack.ok, false);
    const reason = await closed;
    assert.equal(reason.kind, "error");
    assert.equal(reason.kind === "error" && reason.error.code, "E_REPLAY");
    await assert.rejects(waiting, (e) => reason.kind === "error" && e === reason.error);
  });

  it("closing with a string is this process's own {kind: local} reason", async () => {
    const { n } = pair();
    const closed = closeOf(n);
    n.close("node stopping");
    assert.deepEqual(await closed, { kind: "local", reason: "node stopping" });
  });
});
