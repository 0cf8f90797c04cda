/**
 * Long-term Ed25519 identities: generation, key files (0600 JSON), node-id strings, allow-lists and
 * join tokens. A node's id *is* its public key; the canonical text form is base64 (hex is accepted).
 */
import nacl from "tweetnacl";
import { fromBase64, fromHex, toBase64 } from "./base64.js";
import { constantTimeEqual, hmacSha256 } from "./crypto-primitives.js";

export { toBase64 };

import { AllowListError, KeyFileError } from "./errors.js";

export interface Identity {
  publicKey: Uint8Array;
  /** 64-byte tweetnacl secret key (seed ‖ public key). */
  secretKey: Uint8Array;
}

export function generateIdentity(): Identity {
  const kp = nacl.sign.keyPair();
  return { publicKey: kp.publicKey, secretKey: kp.secretKey };
}

/** Canonical text form of a node id / public key. */
export function nodeIdString(publicKey: Uint8Array): string {
  return toBase64(publicKey);
}

/** Parse a 32-byte public key written as base64 (44 chars) or hex (64 chars); undefined if neither. */
export function parsePublicKey(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return fromHex(t);
  // fromBase64 rejects non-canonical encodings (stray low bits) so one key has one spelling.
  if (/^[A-Za-z0-9+/]{43}=$/.test(t)) return fromBase64(t);
  return undefined;
}

export interface KeyFile {
  type: "memarc-ed25519";
  publicKey: string;
  secretKey: string;
}

export function identityToKeyFile(id: Identity): KeyFile {
  return { type: "memarc-ed25519", publicKey: toBase64(id.publicKey), secretKey: toBase64(id.secretKey) };
}

export function identityFromKeyFile(parsed: unknown, path = "key file"): Identity {
  const bad = (why: string) => new KeyFileError(`key file ${path} is corrupt: ${why}`, { path });
  if (typeof parsed !== "object" || parsed === null) throw bad("expected a JSON object");
  const o = parsed as Record<string, unknown>;
  if (o.type !== "memarc-ed25519") throw bad('"type" must be "memarc-ed25519"');
  if (typeof o.secretKey !== "string" || typeof o.publicKey !== "string")
    throw bad("missing publicKey/secretKey");
  const sk = fromBase64(o.secretKey);
  if (sk?.length !== 64) throw bad("secretKey must be 64 bytes of base64");
  const pk = parsePublicKey(o.publicKey);
  if (!pk) throw bad("publicKey must be 32 bytes of base64");
  const derived = nacl.sign.keyPair.fromSecretKey(new Uint8Array(sk));
  // tweetnacl stores the public key in the secret key's tail; recompute it from the seed to catch edits.
  const fromSeed = nacl.sign.keyPair.fromSeed(new Uint8Array(sk.subarray(0, 32)));
  if (!bytesEqual(fromSeed.publicKey, pk) || !bytesEqual(derived.publicKey, pk))
    throw bad("publicKey does not match secretKey");
  return { publicKey: pk, secretKey: new Uint8Array(sk) };
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return constantTimeEqual(a, b);
}

/** Longest friendly name kept from an allow-list comment (it labels a row, it is not a note). */
export const MAX_NODE_NAME_LENGTH = 64;

/**
 * A node's friendly name from the text after `#` on its allow-list line: control characters
 * replaced by spaces, trimmed, cut to MAX_NODE_NAME_LENGTH. Empty → undefined.
 */
export function nodeNameFromComment(comment: string): string | undefined {
  // Control characters (tabs, escapes, bells) could forge log lines or garble a terminal.
  const name = comment
    .replace(/\p{Cc}/gu, " ")
    .trim()
    .slice(0, MAX_NODE_NAME_LENGTH)
    .trim();
  return name === "" ? undefined : name;
}

/**
 * A set of allowed node public keys, each with an optional friendly name (the operator's label for
 * the dashboard and logs; it plays no part in admission).
 */
export class AllowList {
  private readonly keys = new Set<string>();
  private readonly labels = new Map<string, string>();

  constructor(keys: Iterable<Uint8Array> = []) {
    for (const k of keys) this.add(k);
  }

  /** `name` is cleaned as an allow-list comment is (nodeNameFromComment), whoever passes it. */
  add(publicKey: Uint8Array, name?: string): void {
    if (publicKey.length !== 32) throw new AllowListError("a public key is 32 bytes");
    const id = nodeIdString(publicKey);
    this.keys.add(id);
    const label = name === undefined ? undefined : nodeNameFromComment(name);
    if (label !== undefined) this.labels.set(id, label);
  }

  has(publicKey: Uint8Array): boolean {
    return this.keys.has(nodeIdString(publicKey));
  }

  /**
   * Make this list hold exactly `other`'s keys and names (the operator edited the file): admission
   * follows at once; a node already connected keeps its session until it reconnects.
   */
  replaceWith(other: AllowList): { added: string[]; removed: string[] } {
    const added = [...other.keys].filter((k) => !this.keys.has(k));
    const removed = [...this.keys].filter((k) => !other.keys.has(k));
    this.keys.clear();
    this.labels.clear();
    for (const k of other.keys) this.keys.add(k);
    for (const [k, v] of other.labels) this.labels.set(k, v);
    return { added, removed };
  }

  get size(): number {
    return this.keys.size;
  }

  /** The friendly name of a key (bytes or its node-id string), if its line had one. */
  nameOf(node: Uint8Array | string): string | undefined {
    return this.labels.get(typeof node === "string" ? node : nodeIdString(node));
  }

  /** Friendly names by node-id string (only keys whose line had a comment). */
  get names(): ReadonlyMap<string, string> {
    return new Map(this.labels);
  }

  /**
   * Parse "one public key per line" text: base64 or hex, `#` starts a comment, blank lines ignored.
   * A comment after a key names that node (`<key>  # hospital-a`); a line that is only a comment
   * names nothing. Every bad line is reported (with its number) in one error, so a typo is fixed in
   * one go.
   */
  static parse(text: string, source = "allow-list"): AllowList {
    const list = new AllowList();
    const problems: string[] = [];
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i] as string;
      const hash = raw.indexOf("#");
      const line = (hash < 0 ? raw : raw.slice(0, hash)).trim();
      if (line === "") continue;
      const key = parsePublicKey(line);
      if (!key)
        problems.push(`${source}:${i + 1}: not a 32-byte public key (base64 or hex): "${line.slice(0, 80)}"`);
      else list.add(key, hash < 0 ? undefined : raw.slice(hash + 1));
    }
    if (problems.length) throw new AllowListError(problems.join("\n"), { source, lines: problems.length });
    return list;
  }
}

/**
 * Proof of knowing the join token, bound to one handshake transcript. Comparing proofs (fixed length,
 * constantTimeEqual) is constant-time, and the token never crosses the wire.
 */
export function tokenProof(token: string, transcript: Uint8Array): Uint8Array {
  return hmacSha256(token, transcript);
}

export function verifyTokenProof(
  token: string,
  transcript: Uint8Array,
  proof: Uint8Array | undefined,
): boolean {
  if (proof === undefined || proof.length !== 32) return false;
  return constantTimeEqual(tokenProof(token, transcript), proof);
}
