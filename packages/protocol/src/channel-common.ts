/** Option plumbing shared by both channel ends (no socket.io here). */
import { ClosedError, TimeoutError } from "./errors.js";
import { type ChunkAck, parseChunkAck } from "./events.js";
import type { Limits } from "./messages.js";
import { DEFAULT_LIMITS } from "./messages.js";
import { DEFAULT_TIMING, type EnvelopeTransport, type Timing } from "./transfer/transport.js";

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

/**
 * An EnvelopeTransport over a socket.io socket (either end). Ack timeouts are our own timers rather
 * than socket.timeout(), so closing the transport can cancel them and fail pending sends at once.
 */
export function socketTransport(socket: {
  readonly disconnected: boolean;
  emit(ev: "msg", envelope: Uint8Array, ack: (reply: ChunkAck) => void): unknown;
  disconnect(close?: boolean): unknown;
}): EnvelopeTransport {
  const pending = new Map<NodeJS.Timeout, (err: Error) => void>();
  return {
    send: (envelope, timeoutMs) =>
      new Promise<ChunkAck>((resolve, reject) => {
        if (socket.disconnected) return reject(new ClosedError("connection closed"));
        const timer = setTimeout(() => {
          pending.delete(timer);
          reject(new TimeoutError(`no acknowledgement within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(timer, reject);
        socket.emit("msg", envelope, (reply: unknown) => {
          if (!pending.delete(timer)) return; // already timed out or closed
          clearTimeout(timer);
          resolve(parseChunkAck(reply));
        });
      }),
    close: () => {
      for (const [timer, reject] of pending) {
        clearTimeout(timer);
        reject(new ClosedError("connection closed"));
      }
      pending.clear();
      socket.disconnect(true);
    },
  };
}
