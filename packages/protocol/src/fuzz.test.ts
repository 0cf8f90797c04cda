/**
 * Fuzz: ≥ 10⁵ random and mutated inputs through every decoding entry point. The only thing allowed to
 * escape is a ProtocolError; each input must be handled quickly (nothing hangs). The mutation source is
 * a seeded generator (reproducible failures), which is fine here: nothing security-related uses it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import nacl from "tweetnacl";
import { parseFrame, Reassembler } from "./chunking.js";
import { decodeHandshake, decodeSessionMessage, encodeMessage } from "./codec.js";
import {
  DIRECTION_COORDINATOR_TO_NODE as C2N,
  DIRECTION_NODE_TO_COORDINATOR as N2C,
  SessionCipher,
} from "./envelope.js";
import { ProtocolError } from "./errors.js";
import { createChallenge, createJoin } from "./handshake.js";
import { generateIdentity } from "./identity.js";
import { DEFAULT_LIMITS } from "./messages.js";
import * as fx from "./testing/fixtures.js";

/** xorshift32 — seeded, for reproducible test inputs only. */
function seededRandomForTests(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

const rnd = seededRandomForTests(0xc0ffee);
const int = (n: number) => Math.floor(rnd() * n);

function mutate(src: Uint8Array): Uint8Array {
  const b = src.slice();
  switch (int(6)) {
    case 0: // flip bits
      for (let k = 1 + int(3); k > 0; k--) {
        const i = int(b.length);
        b[i] = (b[i] as number) ^ (1 << int(8));
      }
      return b;
    case 1: // random byte values
      for (let k = 1 + int(4); k > 0; k--) b[int(b.length)] = int(256);
      return b;
    case 2: // truncate
      return b.subarray(0, int(b.length));
    case 3: {
      // insert random bytes
      const at = int(b.length);
      const ins = nacl.randomBytes(1 + int(8));
      const out = new Uint8Array(b.length + ins.length);
      out.set(b.subarray(0, at));
      out.set(ins, at);
      out.set(b.subarray(at), at + ins.length);
      return out;
    }
    case 4: // interesting msgpack markers (ext, bin32, map32, array32) at random places
      b[int(b.length)] = [0xc7, 0xc8, 0xc9, 0xc6, 0xdf, 0xdd, 0xd4, 0xd8, 0xcb, 0xca][int(10)] as number;
      return b;
    default: // duplicate a slice
      return new Uint8Array([...b, ...b.subarray(int(b.length))]);
  }
}

function expectTyped(fn: () => unknown, stats: Map<string, number>): void {
  try {
    fn();
    stats.set("accepted", (stats.get("accepted") ?? 0) + 1);
  } catch (err) {
    if (!(err instanceof ProtocolError))
      throw new Error(`untyped error escaped: ${(err as Error)?.stack ?? err}`);
    stats.set(err.code, (stats.get(err.code) ?? 0) + 1);
  }
}

describe("fuzz", () => {
  it("≥ 100 000 random and mutated inputs: only ProtocolErrors escape, nothing hangs", () => {
    const t0 = Date.now();
    const stats = new Map<string, number>();
    const L = DEFAULT_LIMITS;
    const opts = {
      limits: L,
      expectedUpdate: () => fx.tensors().map((t) => ({ name: t.name, shape: t.shape })),
    };
    const node = generateIdentity();
    const { join } = createJoin(node, { backend: "wasm", memoryBytes: 1, schemes: ["lora"] }, L);
    const { challenge } = createChallenge(generateIdentity(), join, L);
    const sessionSeeds = [
      fx.roundTask(),
      fx.evaluateTask(),
      fx.update(),
      fx.evaluateResult(),
      fx.ack,
      fx.error,
      fx.bye,
    ].map((m) => encodeMessage(m));
    const handshakeSeeds = [join, challenge].map((m) => encodeMessage(m));
    let n = 0;
    let slowest = 0;
    const time = (fn: () => void) => {
      const s = performance.now();
      fn();
      slowest = Math.max(slowest, performance.now() - s);
      n++;
    };

    // 1. random bytes to both decoders
    for (let i = 0; i < 20_000; i++) {
      const b = nacl.randomBytes(int(64));
      if (b.length && int(2)) b[0] = [0x80, 0x90, 0xde, 0xc7, 0xd6, 0xa0][int(6)] as number;
      time(() => expectTyped(() => decodeSessionMessage(int(2) ? "node" : "coordinator", b, opts), stats));
      time(() => expectTyped(() => decodeHandshake(b, L), stats));
    }
    // 2. mutated valid messages
    for (let i = 0; i < 50_000; i++) {
      const seed = sessionSeeds[int(sessionSeeds.length)] as Uint8Array;
      const m = mutate(seed);
      time(() => expectTyped(() => decodeSessionMessage(int(2) ? "node" : "coordinator", m, opts), stats));
    }
    for (let i = 0; i < 10_000; i++) {
      const m = mutate(handshakeSeeds[int(2)] as Uint8Array);
      time(() => expectTyped(() => decodeHandshake(m, L), stats));
    }
    // 3. random and mutated envelopes through open → frame → reassembly
    const key = nacl.randomBytes(32);
    const sender = new SessionCipher(key, N2C, C2N);
    const goodEnvelopes = sessionSeeds.map((p) => sender.seal(p));
    let receiver = new SessionCipher(key, C2N, N2C);
    const reasm = new Reassembler({ maxMessageBytes: 1 << 20, transferTimeoutMs: 60_000 });
    for (let i = 0; i < 20_000; i++) {
      const env =
        int(4) === 0
          ? nacl.randomBytes(int(300))
          : mutate(goodEnvelopes[int(goodEnvelopes.length)] as Uint8Array);
      if (int(100) === 0) receiver = new SessionCipher(key, C2N, N2C);
      time(() => expectTyped(() => reasm.accept(parseFrame(receiver.open(env))), stats));
    }
    // 4. frames that decrypt fine but are garbage inside
    for (let i = 0; i < 5_000; i++) {
      const plain = nacl.randomBytes(int(400));
      if (plain.length > 1 && int(2)) plain[0] = 1;
      time(() => expectTyped(() => reasm.accept(parseFrame(plain)), stats));
    }

    const elapsed = Date.now() - t0;
    assert.ok(n >= 100_000, `only ${n} inputs`);
    assert.ok(slowest < 1000, `one input took ${slowest.toFixed(0)} ms`);
    assert.ok(elapsed < 15_000, `fuzzing took ${elapsed} ms`);
    // Both the decoder and the validator were actually exercised, not just the outer checks.
    for (const c of ["E_DECODE", "E_SCHEMA", "E_DECRYPT", "E_CHUNK"])
      assert.ok((stats.get(c) ?? 0) > 100, `${c}: ${stats.get(c)}`);
  });
});
