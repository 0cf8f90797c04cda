/**
 * Updates are signed by the node's long-term key so the coordinator can keep (and later prove) who
 * contributed what, independent of the session. Ed25519 signs a 64-byte digest, never the payload:
 *   digest = SHA-512("memarc-update-v1" ‖ version ‖ roundId ‖ nodeId ‖ SHA-512(encoded update))
 * SHA-512(encoded update) is the same hash the chunk layer uses for integrity, so it is computed once.
 */
import { signDetached, verifyDetached } from "./ed25519.js";
import { sha512, u32be, utf8 } from "./hashing.js";
import { PROTOCOL_VERSION } from "./messages.js";

const LABEL = utf8("memarc-update-v1\0");

export function updateDigest(roundId: number, nodeId: Uint8Array, payloadHash: Uint8Array): Uint8Array {
  return sha512(LABEL, u32be(PROTOCOL_VERSION), u32be(roundId), nodeId, payloadHash);
}

export function signUpdate(digest: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return signDetached(digest, secretKey);
}

export function verifyUpdateSignature(
  digest: Uint8Array,
  signature: Uint8Array,
  nodeId: Uint8Array,
): boolean {
  return verifyDetached(digest, signature, nodeId);
}
