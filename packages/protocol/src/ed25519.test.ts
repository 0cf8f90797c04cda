import assert from "node:assert/strict";
import { describe, it } from "node:test";
import nacl from "tweetnacl";
import { signDetached, verifyDetached } from "./ed25519.js";

describe("native Ed25519", () => {
  it("signs byte-identically to tweetnacl and verifies both ways", () => {
    for (let i = 0; i < 50; i++) {
      const kp = nacl.sign.keyPair();
      const msg = nacl.randomBytes(i * 7);
      const ours = signDetached(msg, kp.secretKey);
      assert.deepEqual(ours, nacl.sign.detached(msg, kp.secretKey));
      assert.ok(verifyDetached(msg, ours, kp.publicKey));
      assert.ok(nacl.sign.detached.verify(msg, ours, kp.publicKey));
    }
  });

  it("rejects a changed message, signature or key, and malformed input, without throwing", () => {
    const kp = nacl.sign.keyPair();
    const other = nacl.sign.keyPair();
    const msg = nacl.randomBytes(64);
    const sig = signDetached(msg, kp.secretKey);
    const flipped = (b: Uint8Array, at: number) => {
      const c = b.slice();
      c[at]! ^= 1;
      return c;
    };
    assert.equal(verifyDetached(flipped(msg, 3), sig, kp.publicKey), false);
    assert.equal(verifyDetached(msg, flipped(sig, 10), kp.publicKey), false);
    assert.equal(verifyDetached(msg, flipped(sig, 40), kp.publicKey), false);
    assert.equal(verifyDetached(msg, sig, other.publicKey), false);
    assert.equal(verifyDetached(msg, sig.subarray(0, 63), kp.publicKey), false);
    assert.equal(verifyDetached(msg, sig, new Uint8Array(31)), false);
    assert.equal(verifyDetached(msg, sig, new Uint8Array(32).fill(0xff)), false);
  });
});
