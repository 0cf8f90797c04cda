/** Option plumbing shared by both channel ends (no socket.io here). */
import type { Limits } from "./messages.js";
import { DEFAULT_LIMITS } from "./messages.js";
import { DEFAULT_TIMING, type Timing } from "./session.js";

export function resolveLimits(l: Partial<Limits> | undefined): Limits {
  const out = Object.freeze({ ...DEFAULT_LIMITS, ...l });
  if (out.maxEnvelopeBytes > 64 * 1024 * 1024) throw new RangeError("maxEnvelopeBytes must be ≤ 64 MiB");
  return out;
}

export function resolveTiming(t: Partial<Timing> | undefined): Timing {
  return Object.freeze({ ...DEFAULT_TIMING, ...t });
}

/**
 * socket.io drops (silently disconnects) any frame above maxHttpBufferSize. Leave room above our own
 * envelope limit so an oversized envelope reaches our check and gets a typed E_TOO_LARGE instead.
 */
export function httpBufferSizeFor(limits: Limits): number {
  return Math.max(1_000_000, 2 * limits.maxEnvelopeBytes + 64 * 1024);
}
