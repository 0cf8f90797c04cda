/**
 * What a node signs with: its long-term Ed25519 key, held either as a key file's secret (an
 * `Identity`, signing synchronously) or by a signer that never hands it out — a browser's
 * non-extractable Web Crypto key, which signs asynchronously. The handshake and every update go
 * through `signAs`, so both kinds of node speak the same protocol.
 */
import { signDetached, verifyDetached } from "./ed25519.js";
import { BadSignatureError } from "./errors.js";
import type { Identity } from "./identity.js";

export interface NodeSigner {
  /** 32-byte public key: the node's id. */
  publicKey: Uint8Array;
  /** A 64-byte Ed25519 signature of `message` by the matching secret key. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export type NodeIdentity = Identity | NodeSigner;

/**
 * `message` signed by `id`. A signer's signature is verified before use: a wrong key or a broken
 * signer is reported here, not as the coordinator's refusal.
 */
export async function signAs(id: NodeIdentity, message: Uint8Array): Promise<Uint8Array> {
  if ("secretKey" in id) return signDetached(message, id.secretKey);
  const signature = await id.sign(message);
  if (!(signature instanceof Uint8Array) || !verifyDetached(message, signature, id.publicKey))
    throw new BadSignatureError(
      "this node's signer made a signature that does not verify against its public key",
    );
  return signature;
}
