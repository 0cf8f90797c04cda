/** Real socket.io on 127.0.0.1: the coordinator's ServerChannel against honest and hostile nodes. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import nacl from "tweetnacl";
import { ClientChannel } from "./client-channel.js";
import type { CloseReason } from "./close-reason.js";
import { encodeMessage } from "./codec.js";
import { AllowList, generateIdentity, type Identity } from "./identity.js";
import { MemoryLogger } from "./logger.js";
import { PROTOCOL_VERSION } from "./messages.js";
import type { NodeSigner } from "./node-signer.js";
import { ServerChannel } from "./server-channel.js";
import type { ServerSession } from "./session.js";
import * as fx from "./testing/fixtures.js";
import { RogueClient, TEST_CAPABILITIES } from "./testing/rogue-client.js";

const coord = generateIdentity();
const honest = generateIdentity();
const rogueIds = Array.from({ length: 12 }, () => generateIdentity());
const stranger = generateIdentity();
/** A node whose key only an asynchronous signer holds, as a browser's non-extractable Web Crypto key. */
const held = generateIdentity();
const logger = new MemoryLogger();
let server: ServerChannel;
const sessions = new Map<string, ServerSession>();

function connectHonest(id: Identity = honest) {
  return ClientChannel.connect({
    url: server.url,
    identity: id,
    coordinatorKey: coord.publicKey,
    capabilities: TEST_CAPABILITIES,
    logger: new MemoryLogger(),
    timing: { ackTimeoutMs: 3000 },
  });
}

let next = 0;
async function rogue(): Promise<{ r: RogueClient; s: ServerSession }> {
  const id = rogueIds[next++] as Identity;
  const r = await RogueClient.connect({ url: server.url, identity: id, coordinatorKey: coord.publicKey });
  const s = sessions.get(Buffer.from(id.publicKey).toString("base64")) as ServerSession;
  return { r, s };
}

function errorCodeOf(m: unknown): string | undefined {
  return (m as { type?: string; code?: string }).type === "error" ? (m as { code: string }).code : undefined;
}

describe("socket.io channel", () => {
  before(async () => {
    server = await ServerChannel.listen({
      identity: coord,
      allowList: AllowList.parse(
        [`${Buffer.from(honest.publicKey).toString("base64")} # honest-node`]
          .concat([...rogueIds, held].map((i) => Buffer.from(i.publicKey).toString("base64")))
          .join("\n"),
      ),
      logger,
      limits: { maxMessageBytes: 4 * 1024 * 1024, maxEnvelopeBytes: 64 * 1024 },
      timing: { ackTimeoutMs: 2000, transferTimeoutMs: 300 },
    });
    server.on("session", (s) => sessions.set(s.nodeIdString, s));
  });
  after(async () => {
    await server.close();
  });

  it("round-trips every message type both ways over a real connection", async () => {
    const node = await connectHonest();
    const s = sessions.get(node.nodeIdString) as ServerSession;
    assert.deepEqual(s.capabilities, TEST_CAPABILITIES);
    // The join is logged with the operator's name for the key (its allow-list comment).
    const joined = logger.records.find(
      (l) => l.event === "node joined" && l.fields.node === node.nodeIdString,
    );
    assert.equal(joined?.fields.name, "honest-node");
    const atNode: unknown[] = [];
    const atCoord: { m: unknown; sig: boolean }[] = [];
    node.on("message", (m) => atNode.push(m));
    s.on("message", (m, info) => atCoord.push({ m, sig: info.signature?.length === 64 }));
    const big = fx.roundTask(7, 300_000); // 1.2 MB: many chunks
    for (const m of [big, fx.evaluateTask(7), fx.ack, fx.error]) await s.send(m);
    for (const m of [fx.update(7, 300_000), fx.evaluateResult(7), fx.ack, fx.error]) await node.send(m);
    assert.deepEqual(atNode, [big, fx.evaluateTask(7), fx.ack, fx.error]);
    assert.deepEqual(
      atCoord.map((x) => x.m),
      [fx.update(7, 300_000), fx.evaluateResult(7), fx.ack, fx.error],
    );
    assert.deepEqual(
      atCoord.map((x) => x.sig),
      [true, false, false, false],
    );
    const closed = new Promise((r) => s.on("close", r));
    await node.bye("finished");
    assert.deepEqual(
      atCoord.at(-1)?.m,
      fx.bye.type === "bye" ? { type: "bye", reason: "finished" } : undefined,
    );
    await closed;
  });

  it("a node whose key is behind an asynchronous signer joins, and the coordinator verifies its update signatures", async () => {
    const signed: number[] = [];
    const signer: NodeSigner = {
      publicKey: held.publicKey,
      sign: async (message) => {
        await new Promise((r) => setTimeout(r, 5));
        signed.push(message.length);
        return nacl.sign.detached(message, held.secretKey);
      },
    };
    const node = await ClientChannel.connect({
      url: server.url,
      identity: signer,
      coordinatorKey: coord.publicKey,
      capabilities: TEST_CAPABILITIES,
      logger: new MemoryLogger(),
    });
    const s = sessions.get(node.nodeIdString) as ServerSession;
    const got: boolean[] = [];
    s.on("message", (_m, info) => got.push(info.signature?.length === 64));
    await s.send(fx.roundTask(3, 1000));
    await node.send(fx.update(3, 1000));
    await node.send(fx.ack);
    while (got.length < 2) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, [true, false]);
    assert.equal(signed.length, 2, "one signature for the handshake, one for the update");
    await node.bye("done");

    // A signer whose signature does not verify against the public key fails before anything is sent.
    const broken: NodeSigner = { publicKey: held.publicKey, sign: async () => new Uint8Array(64) };
    await assert.rejects(
      ClientChannel.connect({
        url: server.url,
        identity: broken,
        coordinatorKey: coord.publicKey,
        capabilities: TEST_CAPABILITIES,
        logger: new MemoryLogger(),
      }),
      (e: Error & { code?: string }) => e.code === "E_BAD_SIGNATURE" && /signer/.test(e.message),
    );
  });

  it("one flipped byte anywhere in an envelope is rejected; the session is closed; others keep working", async () => {
    const other = await connectHonest();
    const positions = [0, 2, 3, 5, 10, 15, 16, 31, 32, 100, -1];
    for (const pos of positions) {
      const { r, s } = await rogue().catch(() => ({ r: undefined, s: undefined }) as never);
      if (!r) {
        // out of identities: reuse by reconnecting the last one is not needed for the positions above
        assert.fail("ran out of rogue identities");
      }
      const [env] = r.seal(fx.ack);
      const bad = (env as Uint8Array).slice();
      const i = pos < 0 ? bad.length + pos : pos;
      bad[i] = (bad[i] as number) ^ 0x04;
      const ack = await r.sendEnvelope(bad);
      assert.equal(typeof ack === "object" && ack.ok, false, `flip at ${i}`);
      const code = typeof ack === "object" && !ack.ok ? ack.code : "";
      assert.ok(["E_DECODE", "E_VERSION", "E_REPLAY", "E_DECRYPT"].includes(code), `flip at ${i}: ${code}`);
      if (code !== "E_DECODE")
        assert.ok(await r.waitDisconnect(), `flip at ${i} (${code}) should disconnect`);
      else {
        assert.equal(errorCodeOf(await r.nextMessage()), "E_DECODE");
        r.close();
      }
      assert.ok(s);
      if (positions.indexOf(pos) === 5) break;
    }
    // The honest node is unaffected.
    const s = sessions.get(other.nodeIdString) as ServerSession;
    const got = s.next("evaluate_result");
    s.expectEvaluation(9);
    await other.send(fx.evaluateResult(9));
    assert.equal((await got).roundId, 9);
    assert.ok(
      logger.records.some((l) => l.event === "rejected message" && typeof l.fields.node === "string"),
    );
    other.close();
  });

  it("replayed and reordered envelopes are rejected with E_REPLAY and disconnect", async () => {
    const { r } = await rogue();
    const [a] = r.seal(fx.ack);
    assert.deepEqual(await r.sendEnvelope(a), { ok: true });
    const replay = await r.sendEnvelope(a);
    assert.equal(typeof replay === "object" && !replay.ok && replay.code, "E_REPLAY");
    assert.ok(await r.waitDisconnect());

    const { r: r2 } = await rogue();
    const [x] = r2.seal(fx.ack);
    const [y] = r2.seal(fx.ack);
    assert.deepEqual(await r2.sendEnvelope(y), { ok: true });
    const reordered = await r2.sendEnvelope(x);
    assert.equal(typeof reordered === "object" && !reordered.ok && reordered.code, "E_REPLAY");
    assert.ok(await r2.waitDisconnect());
  });

  it("rejects NaN, wrong shapes, unknown keys, unsigned or wrongly signed updates — without disconnecting", async () => {
    const { r, s } = await rogue();
    s.expectUpdate(
      7,
      fx.roundTask(7).weights.map((t) => ({ name: t.name, shape: t.shape })),
    );
    const nan = fx.update(7);
    (nan.delta[0] as { data: Float32Array }).data[5] = Number.NaN;
    const wrongShape = fx.update(7);
    (wrongShape.delta[0] as { shape: number[] }).shape = [2, 6];
    const cases: [string, unknown, Parameters<RogueClient["seal"]>[1]][] = [
      ["E_SCHEMA", nan, { sign: true }],
      ["E_SCHEMA", wrongShape, { sign: true }],
      ["E_SCHEMA", { ...fx.update(7), extra: true }, { sign: true }],
      ["E_BAD_SIGNATURE", fx.update(7), {}],
      ["E_BAD_SIGNATURE", fx.update(7), { sign: true, signWith: generateIdentity() }],
      ["E_UNEXPECTED", fx.update(8), { sign: true }],
      ["E_SCHEMA", fx.roundTask(7), {}],
    ];
    for (const [code, msg, o] of cases) {
      const acks = await r.send(msg, o);
      const last = acks.at(-1);
      assert.equal(typeof last === "object" && !last.ok && last.code, code, JSON.stringify(o));
      const reply = await r.nextMessage();
      assert.equal(errorCodeOf(reply), code);
      if ((msg as { roundId?: number }).roundId === 7)
        assert.equal((reply as { roundId: number }).roundId, 7);
    }
    // ...and the session still accepts a good update afterwards.
    const got = s.next("update");
    const acks = await r.send(fx.update(7), { sign: true });
    assert.deepEqual(acks.at(-1), { ok: true });
    assert.equal((await got).epsilonSpent, 0.75);
    r.close();
  });

  it("truncated chunks, missing chunks and oversized payloads get typed errors", async () => {
    const { r } = await rogue();
    const payload = encodeMessage(fx.update(7, 50_000));
    // truncated: a chunk shorter than its header says
    const trunc = r.sealPayload(payload, { sign: true, maxChunkData: 60_000 });
    assert.ok(trunc.length >= 3);
    const plainLen = (trunc[1] as Uint8Array).length;
    assert.ok(plainLen > 100);
    const short = r.sealPayload(payload.subarray(0, 100_000), {
      maxChunkData: 60_000,
      mutateHeader: (h) => {
        h.totalSize = payload.length;
        h.count = 4;
      },
    });
    const ackShort = await r.sendEnvelope(short[0]);
    assert.equal(typeof ackShort === "object" && !ackShort.ok && ackShort.code, "E_CHUNK");
    assert.equal(errorCodeOf(await r.nextMessage()), "E_CHUNK");
    // missing: send all chunks but one; the transfer times out on the coordinator
    const chunks = r.sealPayload(payload, { sign: true, maxChunkData: 60_000 });
    for (const [i, env] of chunks.entries())
      if (i !== 1) assert.deepEqual(await r.sendEnvelope(env), { ok: true });
    const missing = (await r.nextMessage(3000)) as { code: string; message: string };
    assert.equal(missing.code, "E_CHUNK");
    assert.match(missing.message, /missing chunk\(s\) 1\b/);
    // oversized: the declared total is over maxMessageBytes, rejected on the first chunk
    const [huge] = r.sealPayload(new Uint8Array(70_000), {
      maxChunkData: 60_000,
      mutateHeader: (h) => {
        h.totalSize = 64 * 1024 * 1024;
        h.count = 2000;
      },
    });
    const ackHuge = await r.sendEnvelope(huge);
    assert.equal(typeof ackHuge === "object" && !ackHuge.ok && ackHuge.code, "E_TOO_LARGE");
    assert.equal(errorCodeOf(await r.nextMessage()), "E_TOO_LARGE");
    // an envelope above the envelope limit (but below socket.io's) is E_TOO_LARGE too
    const ackBig = await r.sendEnvelope(new Uint8Array(100_000));
    assert.equal(typeof ackBig === "object" && !ackBig.ok && ackBig.code, "E_TOO_LARGE");
    assert.equal(r.disconnected, false);
    r.close();
  });

  it("refuses unknown nodes, foreign versions, bad handshake signatures, and a wrong coordinator key", async () => {
    const other = await connectHonest();
    const refusals: string[] = [];
    server.on("refused", (x) => refusals.push(x.error.code));
    await assert.rejects(
      connectHonest(stranger),
      (e: Error & { code: string }) => e.code === "E_NOT_ADMITTED",
    );
    await assert.rejects(
      RogueClient.connect({
        url: server.url,
        identity: honest,
        coordinatorKey: coord.publicKey,
        mutateJoin: (j) => ({ ...j, version: PROTOCOL_VERSION + 1 }),
      }),
      (e: Error & { code: string }) => e.code === "E_VERSION",
    );
    await assert.rejects(
      RogueClient.connect({
        url: server.url,
        identity: honest,
        coordinatorKey: coord.publicKey,
        signingIdentity: generateIdentity(),
      }),
      (e: Error & { code: string }) => e.code === "E_NOT_ADMITTED",
    );
    await assert.rejects(
      ClientChannel.connect({
        url: server.url,
        identity: honest,
        coordinatorKey: generateIdentity().publicKey,
        capabilities: TEST_CAPABILITIES,
        logger: new MemoryLogger(),
      }),
      (e: Error & { code: string }) => e.code === "E_UNKNOWN_COORDINATOR",
    );
    // The operator's side keeps the precise reasons; the peers were told only E_NOT_ADMITTED.
    assert.deepEqual(refusals, ["E_UNKNOWN_NODE", "E_VERSION", "E_BAD_SIGNATURE"]);
    assert.ok(
      logger.records.some((l) => l.event === "handshake refused" && l.fields.code === "E_UNKNOWN_NODE"),
    );
    // the connected node kept working throughout
    const s = sessions.get(other.nodeIdString) as ServerSession;
    const got = other.next("round_task");
    await s.send(fx.roundTask(3));
    assert.equal((await got).roundId, 3);
    other.close();
  });

  it("open enrolment needs the explicit flag and a token proof", async () => {
    await assert.rejects(
      ServerChannel.listen({ identity: coord, openEnrolment: true, joinToken: "short" }),
      (e: Error & { code: string }) => e.code === "E_BAD_TOKEN",
    );
    await assert.rejects(
      ServerChannel.listen({ identity: coord }),
      (e: Error & { code: string }) => e.code === "E_UNKNOWN_NODE",
    );
    const token = "enrol-2024-abcdefghijklmnop";
    const open = await ServerChannel.listen({
      identity: coord,
      openEnrolment: true,
      joinToken: token,
      logger: new MemoryLogger(),
    });
    try {
      const base = {
        url: open.url,
        identity: stranger,
        coordinatorKey: coord.publicKey,
        capabilities: TEST_CAPABILITIES,
        logger: new MemoryLogger(),
      };
      await assert.rejects(
        ClientChannel.connect(base),
        (e: Error & { code: string }) => e.code === "E_NOT_ADMITTED",
      );
      await assert.rejects(
        ClientChannel.connect({ ...base, joinToken: `${token}x` }),
        (e: Error & { code: string }) => e.code === "E_NOT_ADMITTED",
      );
      const ok = await ClientChannel.connect({ ...base, joinToken: token });
      assert.equal(open.sessions.length, 1);
      ok.close();
    } finally {
      await open.close();
    }
  });

  it("an unknown key and a known key with a wrong signature are refused in identical words, both after a challenge", async () => {
    const seen: { challenged: boolean; refusal: unknown }[] = [];
    for (const o of [{ identity: stranger }, { identity: honest, signingIdentity: generateIdentity() }]) {
      let challenged = false;
      const err = await RogueClient.connect({
        url: server.url,
        coordinatorKey: coord.publicKey,
        ...o,
        onChallenge: () => {
          challenged = true;
        },
      }).then(
        () => null,
        (e: Error & { code: string }) => ({ code: e.code, message: e.message }),
      );
      seen.push({ challenged, refusal: err });
    }
    assert.ok(
      seen.every((s) => s.challenged),
      "both were challenged",
    );
    assert.deepEqual(seen[0]!.refusal, seen[1]!.refusal);
    assert.equal((seen[0]!.refusal as { code: string }).code, "E_NOT_ADMITTED");
  });

  it("close reasons are typed: a bye at both ends, the node's own close, the dropped connection it leaves", async () => {
    const closeOf = (x: { on(e: "close", fn: (r: CloseReason) => void): unknown }) =>
      new Promise<CloseReason>((resolve) => x.on("close", resolve));
    const a = await connectHonest();
    const sa = sessions.get(a.nodeIdString) as ServerSession;
    const [byeAtNode, byeAtCoordinator] = [closeOf(a), closeOf(sa)];
    await sa.bye("run complete");
    assert.deepEqual(await byeAtCoordinator, { kind: "bye", by: "self", reason: "run complete" });
    assert.deepEqual(await byeAtNode, { kind: "bye", by: "peer", reason: "run complete" });

    const b = await connectHonest();
    const sb = sessions.get(b.nodeIdString) as ServerSession;
    const [atNode, atCoordinator] = [closeOf(b), closeOf(sb)];
    b.close("node stopping");
    assert.deepEqual(await atNode, { kind: "local", reason: "node stopping" });
    // socket.io's own words for a client that disconnected on purpose.
    assert.deepEqual(await atCoordinator, { kind: "transport", detail: "client namespace disconnect" });
  });
});
