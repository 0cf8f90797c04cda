/**
 * The sending half of a transfer: keep up to `timing.window` chunks in flight, each acknowledged by
 * the peer through the transport; resend a chunk whose ack did not come within `ackTimeoutMs` (same
 * frame, sealed again under a fresh counter) up to `retries` times. The first rejection, exhausted
 * retries, or the owner closing fails the whole send; later acks are ignored.
 */
import { asProtocolError, ClosedError, errorFromCode, type ProtocolError, TimeoutError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { EnvelopeTransport, Timing } from "./transport.js";

/** One message, cut into padded chunk plaintexts (see chunking.ts `buildChunk`). */
export interface OutgoingTransfer {
  transferId: number;
  /** Each entry is dropped (set to null) once the peer acknowledged it, so memory shrinks as we go. */
  chunks: (Uint8Array | null)[];
}

/** What the window needs from the transfer that owns it. */
export interface SendWindowContext {
  transport: EnvelopeTransport;
  timing: Pick<Timing, "window" | "retries" | "ackTimeoutMs">;
  logger: Logger;
  /** Names the session in log lines (the node id). */
  node: string;
  /** Seal one padded chunk into an envelope; called again for a resend, which needs a new counter. */
  seal(chunk: Uint8Array): Uint8Array;
  closed(): boolean;
  /** Holds this send's fail function while it is pending, so closing the owner can fail it at once. */
  pending: Set<(err: ProtocolError) => void>;
}

/**
 * Resolves when every chunk is acknowledged; rejects with the peer's code if it refused a chunk,
 * E_TIMEOUT after the retries, or E_CLOSED. `label` names the message in errors (e.g. "update").
 */
export function sendWindowed(ctx: SendWindowContext, t: OutgoingTransfer, label: string): Promise<void> {
  const { chunks, transferId } = t;
  const count = chunks.length;
  const { window, retries, ackTimeoutMs } = ctx.timing;
  return new Promise<void>((resolve, reject) => {
    let next = 0;
    let inflight = 0;
    let acked = 0;
    let failed = false;
    const fail = (err: ProtocolError) => {
      if (failed) return;
      failed = true;
      ctx.pending.delete(fail);
      reject(err);
    };
    ctx.pending.add(fail);
    const launch = (i: number, attempt: number) => {
      if (ctx.closed()) return fail(new ClosedError("session closed while sending"));
      const env = ctx.seal(chunks[i] as Uint8Array);
      inflight++;
      ctx.transport.send(env, ackTimeoutMs).then(
        (ack) => {
          inflight--;
          if (failed) return;
          if (!ack.ok) {
            return fail(
              errorFromCode(ack.code, `peer rejected ${label} (transfer ${transferId}): ${ack.message}`, {
                transferId,
              }),
            );
          }
          chunks[i] = null;
          if (++acked === count) {
            ctx.pending.delete(fail);
            resolve();
          } else pumpMore();
        },
        (err: unknown) => {
          inflight--;
          if (failed) return;
          const e = asProtocolError(err, "E_TIMEOUT");
          if (e.code === "E_TIMEOUT" && attempt < retries && !ctx.closed()) {
            // A peer busy with a long local step answers late; one resend is routine, more is news.
            ctx.logger[attempt === 0 ? "info" : "warn"]("chunk unacknowledged, resending", {
              node: ctx.node,
              transferId,
              chunk: i,
              attempt: attempt + 1,
            });
            launch(i, attempt + 1);
          } else
            fail(
              e.code === "E_TIMEOUT"
                ? new TimeoutError(
                    `chunk ${i} of ${label} (transfer ${transferId}) unacknowledged after ${retries + 1} attempts of ${ackTimeoutMs} ms`,
                    { transferId, chunk: i },
                  )
                : e,
            );
        },
      );
    };
    const pumpMore = () => {
      while (!failed && inflight < window && next < count) launch(next++, 0);
    };
    pumpMore();
  });
}
