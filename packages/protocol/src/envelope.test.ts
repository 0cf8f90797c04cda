import assert from "node:assert/strict";
import { describe, it } from "node:test";
import nacl from "tweetnacl";
import {
  DIRECTION_COORDINATOR_TO_NODE as C2N,
  DIRECTION_NODE_TO_COORDINATOR as N2C,
  SessionCipher,
} from "./envelope.js";
import { thrownCode } from "./testing/thrown-code.js";

function pair(key = nacl.randomBytes(32)) {
  return { node: new SessionCipher(key, N2C, C2N), coord: new SessionCipher(key, C2N, N2C) };
}

describe("sealed envelope", () => {
  it("round-trips and matches nacl.secretbox with the counter nonce", () => {
    const key = nacl.randomBytes(32);
    const { node, coord } = pair(key);
    const msg = nacl.randomBytes(1000);
    node.seal(nacl.randomBytes(3)); // counter 0
    const env = node.seal(msg); // counter 1
    assert.deepEqual(coord.open(env).slice(), msg.slice());
    // Independent reference: the ciphertext is nacl.secretbox under nonce (direction ‖ counter ‖ 0…).
    const nonce = new Uint8Array(24);
    nonce[0] = N2C;
    nonce[8] = 1;
    assert.deepEqual(env.subarray(16), nacl.secretbox(msg, nonce, key));
  });

  it("rejects any single flipped byte, anywhere in the envelope", () => {
    const key = nacl.randomBytes(32);
    const plain = nacl.randomBytes(64);
    const env = new SessionCipher(key, N2C, C2N).seal(plain);
    const seen = new Set<string>();
    for (let i = 0; i < env.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = env.slice();
        bad[i] = (bad[i] as number) ^ bit;
        const c = thrownCode(() => new SessionCipher(key, C2N, N2C).open(bad));
        assert.notEqual(c, "no error", `flip at byte ${i} accepted`);
        seen.add(c);
      }
    }
    assert.deepEqual([...seen].sort(), ["E_DECODE", "E_DECRYPT", "E_REPLAY", "E_VERSION"]);
  });

  it("rejects replayed and reordered envelopes with E_REPLAY", () => {
    const { node, coord } = pair();
    const a = node.seal(new Uint8Array([1]));
    const b = node.seal(new Uint8Array([2]));
    const c = node.seal(new Uint8Array([3]));
    coord.open(a);
    assert.equal(
      thrownCode(() => coord.open(a)),
      "E_REPLAY",
    );
    coord.open(c); // a gap is allowed (a lost chunk is resent with a new counter)...
    assert.equal(
      thrownCode(() => coord.open(b)),
      "E_REPLAY",
    ); // ...but going backwards never is
  });

  it("rejects envelopes of another session (E_DECRYPT) and reflected ones (E_REPLAY)", () => {
    const s1 = pair();
    const s2 = pair();
    assert.equal(
      thrownCode(() => s2.coord.open(s1.node.seal(new Uint8Array([1])))),
      "E_DECRYPT",
    );
    const mine = s1.coord.seal(new Uint8Array([1]));
    assert.equal(
      thrownCode(() => s1.coord.open(mine)),
      "E_REPLAY",
    );
  });

  it("a forged envelope does not advance the counter window", () => {
    const { node, coord } = pair();
    const good = node.seal(new Uint8Array([1]));
    const forged = good.slice();
    forged[15] = 200; // claims counter 200
    assert.equal(
      thrownCode(() => coord.open(forged)),
      "E_DECRYPT",
    );
    assert.deepEqual([...coord.open(good)], [1]);
  });
});
