/** What the sealed transfer needs from below: a transport for envelopes, and its clock settings. */
import type { ChunkAck } from "../events.js";

/** Moves sealed envelopes; resolves with the peer's ack or rejects (TimeoutError, ClosedError). */
export interface EnvelopeTransport {
  send(envelope: Uint8Array, timeoutMs: number): Promise<ChunkAck>;
  close(): void;
}

export interface Timing {
  /** How long to wait for the peer to acknowledge one chunk before resending it. */
  ackTimeoutMs: number;
  /** Resends of an unacknowledged chunk before send() fails with E_TIMEOUT. */
  retries: number;
  /** Chunks of one message in flight at once. */
  window: number;
  /** A receiver drops a transfer that made no progress for this long (E_CHUNK, missing chunks). */
  transferTimeoutMs: number;
  /** Coordinator: a connection that has not completed the handshake by then is dropped. */
  handshakeTimeoutMs: number;
}

export const DEFAULT_TIMING: Readonly<Timing> = Object.freeze({
  ackTimeoutMs: 15_000,
  retries: 2,
  window: 4,
  transferTimeoutMs: 60_000,
  handshakeTimeoutMs: 10_000,
});
