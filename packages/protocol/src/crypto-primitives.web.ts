/**
 * crypto-primitives.ts for browsers: the same functions from tweetnacl (SHA-512) and
 * @noble/hashes (HMAC-SHA-256), synchronous as the protocol's handshake needs (Web Crypto's
 * digest and sign are asynchronous).
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import nacl from "tweetnacl";

export function sha512(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const all = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return nacl.hash(all);
}

export function hmacSha256(key: string, message: Uint8Array): Uint8Array {
  return hmac(sha256, new TextEncoder().encode(key), message);
}

/** Equal-length byte strings compared in time independent of where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) throw new RangeError("constantTimeEqual: inputs differ in length");
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
