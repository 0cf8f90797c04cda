/**
 * Long-term Ed25519 identities: generation, key files (0600 JSON), node-id strings, allow-lists and
 * join tokens. A node's id *is* its public key; the canonical text form is base64 (hex is accepted).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  openSync,
  readFileSync,
  type Stats,
  statSync,
  writeSync,
} from "node:fs";
import nacl from "tweetnacl";
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

export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

/** Canonical text form of a node id / public key. */
export function nodeIdString(publicKey: Uint8Array): string {
  return toBase64(publicKey);
}

/** Parse a 32-byte public key written as base64 (44 chars) or hex (64 chars); undefined if neither. */
export function parsePublicKey(text: string): Uint8Array | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return new Uint8Array(Buffer.from(t, "hex"));
  if (/^[A-Za-z0-9+/]{43}=$/.test(t)) {
    const b = Buffer.from(t, "base64");
    // Reject non-canonical encodings (stray low bits) so one key has one spelling.
    if (b.length === 32 && b.toString("base64") === t) return new Uint8Array(b);
  }
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

/**
 * Write a key file readable only by its owner. O_EXCL makes "refuse to overwrite" race-free; with
 * `force` an existing file is replaced (and its mode reset to 0600).
 */
export function writeKeyFile(path: string, id: Identity, opts: { force?: boolean } = {}): void {
  const flags = constants.O_WRONLY | constants.O_CREAT | (opts.force ? constants.O_TRUNC : constants.O_EXCL);
  let fd: number;
  try {
    fd = openSync(path, flags, 0o600);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EEXIST")
      throw new KeyFileError(
        `${path} already exists; refusing to overwrite a key (use --force to replace it)`,
        {
          path,
        },
      );
    throw new KeyFileError(`cannot write key file ${path}: ${e.message}`, { path });
  }
  try {
    // An existing file keeps its old mode on O_TRUNC; tighten it explicitly.
    if ((fstatSync(fd).mode & 0o777) !== 0o600) fchmodSync(fd, 0o600);
    writeSync(fd, `${JSON.stringify(identityToKeyFile(id), null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Load a key file. Refuses a file other users can read (mode & 0o077, as ssh does), and any corrupt
 * content: bad JSON, wrong key lengths, or a public key that does not belong to the secret key.
 */
export function loadKeyFile(path: string): Identity {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    throw new KeyFileError(`cannot read key file ${path}: ${(err as Error).message}`, { path });
  }
  if (!st.isFile()) throw new KeyFileError(`${path} is not a regular file`, { path });
  if (st.size > 4096) throw new KeyFileError(`key file ${path} is corrupt: too large`, { path });
  const text = readFileSync(path, "utf8");
  // The commonest mix-up: the .pub file (keygen --pub-out) where the secret key file belongs. Said
  // before the mode check, which a world-readable .pub would otherwise fail with a misleading hint.
  if (parsePublicKey(text.trim()))
    throw new KeyFileError(
      `${path} holds only a public key (a .pub file, as written by keygen --pub-out); give the secret key file written by keygen --out`,
      { path },
    );
  if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
    throw new KeyFileError(
      `key file ${path} is accessible by other users (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
      { path, mode: st.mode & 0o777 },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new KeyFileError(`key file ${path} is corrupt: not JSON (${(err as Error).message})`, { path });
  }
  return identityFromKeyFile(parsed, path);
}

export function identityFromKeyFile(parsed: unknown, path = "key file"): Identity {
  const bad = (why: string) => new KeyFileError(`key file ${path} is corrupt: ${why}`, { path });
  if (typeof parsed !== "object" || parsed === null) throw bad("expected a JSON object");
  const o = parsed as Record<string, unknown>;
  if (o.type !== "memarc-ed25519") throw bad('"type" must be "memarc-ed25519"');
  if (typeof o.secretKey !== "string" || typeof o.publicKey !== "string")
    throw bad("missing publicKey/secretKey");
  const sk = Buffer.from(o.secretKey, "base64");
  if (sk.length !== 64 || sk.toString("base64") !== o.secretKey)
    throw bad("secretKey must be 64 bytes of base64");
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
  return timingSafeEqual(a, b);
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

  static load(path: string): AllowList {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new AllowListError(`cannot read allow-list ${path}: ${(err as Error).message}`, { path });
    }
    return AllowList.parse(text, path);
  }
}

/**
 * Proof of knowing the join token, bound to one handshake transcript. Comparing proofs (fixed length,
 * timingSafeEqual) is constant-time, and the token never crosses the wire.
 */
export function tokenProof(token: string, transcript: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", token).update(transcript).digest());
}

export function verifyTokenProof(
  token: string,
  transcript: Uint8Array,
  proof: Uint8Array | undefined,
): boolean {
  if (proof === undefined || proof.length !== 32) return false;
  return timingSafeEqual(tokenProof(token, transcript), proof);
}
