/**
 * Hashing, HMAC and constant-time comparison on Node's native crypto. Browsers load
 * crypto-primitives.web.ts instead (the package's "browser" map), with the same outputs;
 * crypto-primitives.test.ts checks both agree.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export function sha512(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha512");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hmacSha256(key: string, message: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(message).digest());
}

/** Equal-length byte strings compared in time independent of where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return timingSafeEqual(a, b);
}
