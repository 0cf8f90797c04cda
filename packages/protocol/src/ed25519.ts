/**
 * Ed25519 detached signatures on Node's native implementation (OpenSSL). tweetnacl's JavaScript
 * verify costs milliseconds — at 1,000 nodes it was a third of a coordinator's round
 * (`memarc bench coordinator`, docs/performance.md) — while OpenSSL's takes tens of microseconds.
 * Ed25519 is deterministic (RFC 8032), so signatures are byte-identical to tweetnacl's and keys keep
 * tweetnacl's layout (secret key = 32-byte seed ‖ public key); ed25519.test.ts checks both.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";

/** DER headers of an Ed25519 SubjectPublicKeyInfo and PKCS#8 PrivateKeyInfo (RFC 8410). */
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** Parsed keys by their bytes: a coordinator verifies the same few thousand node keys every round. */
const publicKeys = new Map<string, KeyObject>();
const MAX_CACHED = 100_000;

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey).toString("base64");
  let k = publicKeys.get(id);
  if (!k) {
    k = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
    if (publicKeys.size >= MAX_CACHED) publicKeys.clear();
    publicKeys.set(id, k);
  }
  return k;
}

/** A 64-byte signature of `message` by tweetnacl-layout `secretKey` (seed ‖ public key). */
export function signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== 64) throw new RangeError("Ed25519 secret key must be 64 bytes");
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, secretKey.subarray(0, 32)]),
    format: "der",
    type: "pkcs8",
  });
  return new Uint8Array(sign(null, message, key));
}

/** Whether `signature` is a valid Ed25519 signature of `message` by `publicKey`; false for any malformed input. */
export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return verify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false; // not a point on the curve, etc.
  }
}
