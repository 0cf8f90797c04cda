/**
 * This browser's node key (its public half is the node's id). Where Web Crypto has Ed25519
 * (Chromium ≥ 137, Firefox ≥ 129, Safari ≥ 17) the key is generated non-extractable: IndexedDB keeps
 * the CryptoKey objects, and no script — this page's own included — can read the secret, only ask
 * for signatures. Elsewhere it is a tweetnacl key, a raw 64-byte secret in IndexedDB. A raw key that
 * an earlier version of the page stored is moved into a non-extractable CryptoKey (same node id) and
 * its bytes deleted.
 */
import { generateIdentity, type NodeIdentity } from "@memarc/protocol";
import { deleteValue, readValue, writeValue } from "./store.js";

export type NodeKey =
  | { kind: "webcrypto"; publicKey: Uint8Array; privateKey: CryptoKey }
  | { kind: "raw"; secretKey: Uint8Array };

const ED25519 = { name: "Ed25519" };
/** PKCS#8 wrapping of a 32-byte Ed25519 seed (RFC 8410). */
const PKCS8_PREFIX = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
);

export function nodePublicKey(k: NodeKey): Uint8Array {
  return k.kind === "webcrypto" ? k.publicKey : k.secretKey.slice(32);
}

async function generateWebCrypto(): Promise<NodeKey | null> {
  try {
    const pair = (await crypto.subtle.generateKey(ED25519, false, ["sign", "verify"])) as CryptoKeyPair;
    const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    return { kind: "webcrypto", publicKey, privateKey: pair.privateKey };
  } catch {
    return null; // no Ed25519 in this browser's Web Crypto
  }
}

async function importRaw(secretKey: Uint8Array): Promise<NodeKey | null> {
  const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(secretKey.subarray(0, 32), PKCS8_PREFIX.length);
  try {
    const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, ED25519, false, ["sign"]);
    return { kind: "webcrypto", publicKey: secretKey.slice(32), privateKey };
  } catch {
    return null;
  } finally {
    pkcs8.fill(0);
  }
}

/** The node key kept in `db`, created (or moved out of raw bytes) on first use. */
export async function loadOrCreateNodeKey(db: IDBDatabase): Promise<NodeKey> {
  const held = await readValue<NodeKey>(db, "node-key");
  const raw = await readValue<Uint8Array>(db, "identity");
  if (held) {
    if (raw) await deleteValue(db, "identity"); // a migration cut short after the key was saved
    return held;
  }
  const key = raw ? await importRaw(raw) : await generateWebCrypto();
  if (key) {
    await writeValue(db, "node-key", key);
    if (raw) await deleteValue(db, "identity");
    return key;
  }
  const secretKey = raw ?? generateIdentity().secretKey;
  if (!raw) await writeValue(db, "identity", secretKey);
  return { kind: "raw", secretKey };
}

/** The identity NodeRunner signs with: Web Crypto signs without exposing the secret. */
export function nodeIdentity(k: NodeKey): NodeIdentity {
  if (k.kind === "raw") return { publicKey: k.secretKey.slice(32), secretKey: k.secretKey };
  const { privateKey } = k;
  return {
    publicKey: k.publicKey,
    sign: async (message) =>
      new Uint8Array(await crypto.subtle.sign(ED25519, privateKey, new Uint8Array(message))),
  };
}
