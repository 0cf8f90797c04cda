/**
 * ed25519.ts for browsers: tweetnacl's Ed25519 (byte-identical signatures, RFC 8032 is
 * deterministic). A node signs a handful of messages per round, so its speed does not matter here;
 * the coordinator keeps OpenSSL's fast verify.
 */
import nacl from "tweetnacl";

/** A 64-byte signature of `message` by tweetnacl-layout `secretKey` (seed ‖ public key). */
export function signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== 64) throw new RangeError("Ed25519 secret key must be 64 bytes");
  return nacl.sign.detached(message, secretKey);
}

/** Whether `signature` is a valid Ed25519 signature of `message` by `publicKey`; false for any malformed input. */
export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return nacl.sign.detached.verify(message, signature, publicKey);
  } catch {
    return false;
  }
}
