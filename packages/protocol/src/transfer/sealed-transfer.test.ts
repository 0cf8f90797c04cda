/** The transfer layer alone: opaque bytes, no message types, over an in-memory wire. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import nacl from "tweetnacl";
import type { CompletedTransfer } from "../chunking.js";
import { type ProtocolError, TimeoutError } from "../errors.js";
import { sha512 } from "../hashing.js";
import { MemoryLogger } from "../logger.js";
import { DEFAULT_LIMITS } from "../messages.js";
import { SealedTransfer } from "./sealed-transfer.js";
import { DEFAULT_TIMING, type EnvelopeTransport } from "./transport.js";

function pair(o: { drop?: (seq: number) => boolean; transferTimeoutMs?: number } = {}) {
  const key = nacl.randomBytes(32);
  const limits = { ...DEFAULT_LIMITS, maxEnvelopeBytes: 4096 };
  const timing = {
    ...DEFAULT_TIMING,
    ackTimeoutMs: 100,
    retries: 0,
    transferTimeoutMs: o.transferTimeoutMs ?? 60_000,
  };
  const completed: CompletedTransfer[] = [];
  const stalled: ProtocolError[] = [];
  let seq = 0;
  const ends: { sender?: SealedTransfer; receiver?: SealedTransfer } = {};
  const wire: EnvelopeTransport = {
    send: (env, timeoutMs) =>
      new Promise((resolve, reject) => {
        // A lost envelope: no ack comes, the transport's timer fires (as socketTransport's does).
        if (o.drop?.(seq++)) return void setTimeout(() => reject(new TimeoutError("lost")), timeoutMs);
        setImmediate(() => {
          const got = (ends.receiver as SealedTransfer).receive(env);
          if (got.ok && got.completed) completed.push(got.completed);
          resolve(got.ok ? { ok: true } : { ok: false, code: got.error.code, message: got.error.message });
        });
      }),
    close() {},
  };
  const common = { key, limits, peerLimits: limits, logger: new MemoryLogger(), node: "test" };
  ends.sender = new SealedTransfer({
    ...common,
    role: "node",
    transport: wire,
    timing,
    onStalled: () => {},
  });
  ends.receiver = new SealedTransfer({
    ...common,
    role: "coordinator",
    transport: { send: () => Promise.reject(new Error("unused")), close() {} },
    timing,
    onStalled: (e) => stalled.push(e),
  });
  return { sender: ends.sender, completed, stalled };
}

describe("sealed transfer", () => {
  it("moves arbitrary bytes in many chunks, with the hash and an optional signature", async () => {
    const { sender, completed } = pair();
    const payload = nacl.randomBytes(20_000); // not msgpack: this layer does not look inside
    const signature = new Uint8Array(64).fill(7);
    await sender.send(
      sender.prepare(payload, () => signature),
      "blob",
    );
    await sender.send(sender.prepare(new Uint8Array([1, 2, 3])), "tiny");
    assert.equal(completed.length, 2);
    assert.deepEqual(completed[0]?.payload, payload);
    assert.deepEqual(completed[0]?.hash, sha512(payload));
    assert.deepEqual(completed[0]?.signature, signature);
    assert.deepEqual(
      completed.map((c) => c.transferId),
      [0, 1],
    );
    assert.equal(completed[1]?.signature, undefined);
  });

  it("a transfer missing a chunk fails the sender with E_TIMEOUT and is reported stalled at the receiver", async () => {
    const { sender, completed, stalled } = pair({ drop: (s) => s === 1, transferTimeoutMs: 80 });
    await assert.rejects(
      sender.send(sender.prepare(nacl.randomBytes(10_000)), "blob"),
      (e: ProtocolError) => e.code === "E_TIMEOUT",
    );
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(completed.length, 0);
    assert.deepEqual(
      stalled.map((e) => [e.code, e.details?.missing]),
      [["E_CHUNK", [1]]],
    );
  });

  it("closing fails a pending send with E_CLOSED naming the reason", async () => {
    const { sender } = pair({ drop: () => true });
    const sending = sender.send(sender.prepare(new Uint8Array(10)), "blob");
    sender.close("shutting down");
    await assert.rejects(
      sending,
      (e: ProtocolError) => e.code === "E_CLOSED" && /shutting down/.test(e.message),
    );
    assert.equal(sender.closed, true);
  });
});
