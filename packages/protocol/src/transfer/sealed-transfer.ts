/**
 * Reliable sealed transfer of opaque byte payloads over an envelope transport: the layer under
 * SecureSession that knows nothing of message types.
 *
 *   prepare(payload) size check → SHA-512 once → (optional signature over the hash) → chunk frames
 *   send(prepared)   seal each chunk and send it through the window (acks, resends; send-window.ts)
 *   receive(env)     size check → open (counter, MAC) → parse frame → reassemble → hash check
 *
 * Transfers that stall half-way are swept on a timer and reported through `onStalled`. Nothing here
 * throws at the peer's bidding: receive() returns what went wrong for the layer above to answer.
 */
import { asBytes } from "../bytes.js";
import {
  buildChunk,
  type CompletedTransfer,
  FLAG_SIGNED,
  FRAME_HEADER_BYTES,
  MAX_U32,
  parseFrame,
  planChunks,
  Reassembler,
} from "../chunking.js";
import { directionsFor, ENVELOPE_OVERHEAD, SessionCipher } from "../envelope.js";
import { asProtocolError, ClosedError, ProtocolError, TooLargeError } from "../errors.js";
import { sha512 } from "../hashing.js";
import type { Logger } from "../logger.js";
import type { Limits, ReceiveLimits, Role } from "../messages.js";
import { unrefTimer } from "../timers.js";
import { type OutgoingTransfer, type SendWindowContext, sendWindowed } from "./send-window.js";
import type { EnvelopeTransport, Timing } from "./transport.js";

export interface SealedTransferOptions {
  /** Picks the cipher's send and receive directions. */
  role: Role;
  /** 32-byte session key from the handshake. */
  key: Uint8Array;
  transport: EnvelopeTransport;
  /** What we accept. */
  limits: Limits;
  /** What the peer accepts: outgoing chunks and messages are sized to fit both. */
  peerLimits: ReceiveLimits;
  timing: Timing;
  logger: Logger;
  /** Names the session in log lines (the node id). */
  node: string;
  /** A partial incoming transfer made no progress for `transferTimeoutMs` and was dropped (E_CHUNK). */
  onStalled: (err: ProtocolError) => void;
}

/** What one incoming envelope did: nothing visible yet, completed a payload, or was rejected. */
export type Received =
  | { ok: true; completed: CompletedTransfer | undefined }
  | { ok: false; error: ProtocolError };

export class SealedTransfer {
  private readonly cipher: SessionCipher;
  private readonly reassembler: Reassembler;
  private readonly window: SendWindowContext;
  private readonly maxChunkData: number;
  private readonly maxSend: number;
  private nextTransferId = 0;
  private isClosed = false;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly o: SealedTransferOptions) {
    const dirs = directionsFor(o.role);
    this.cipher = new SessionCipher(o.key, dirs.send, dirs.recv);
    this.maxChunkData =
      Math.min(o.limits.maxEnvelopeBytes, o.peerLimits.maxEnvelopeBytes) -
      ENVELOPE_OVERHEAD -
      FRAME_HEADER_BYTES;
    if (this.maxChunkData < 1024)
      throw new RangeError("maxEnvelopeBytes is too small (need ≥ 1 KiB of data per chunk)");
    this.maxSend = Math.min(o.limits.maxMessageBytes, o.peerLimits.maxMessageBytes);
    this.reassembler = new Reassembler({
      maxMessageBytes: o.limits.maxMessageBytes,
      transferTimeoutMs: o.timing.transferTimeoutMs,
    });
    this.window = {
      transport: o.transport,
      timing: o.timing,
      logger: o.logger,
      node: o.node,
      seal: (chunk) => this.cipher.sealPadded(chunk),
      closed: () => this.isClosed,
      pending: new Set(),
    };
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Cut `payload` into chunk frames (copying it, so it may be a scratch buffer that the next encode
   * reuses) and take a transfer id. Throws E_TOO_LARGE, before anything is sent, if the payload is
   * over either side's message limit. `sign` signs the payload's SHA-512; the signature travels in
   * every frame header and is flagged as present.
   */
  prepare(payload: Uint8Array, sign?: (hash: Uint8Array) => Uint8Array): OutgoingTransfer {
    const total = payload.length;
    if (total > this.maxSend)
      throw new TooLargeError(`message of ${total} bytes exceeds the limit of ${this.maxSend} bytes`);
    const hash = sha512(payload);
    const signature = sign ? sign(hash) : new Uint8Array(64);
    const flags = sign ? FLAG_SIGNED : 0;
    const transferId = this.nextTransferId;
    this.nextTransferId = transferId === MAX_U32 ? 0 : transferId + 1;
    const { count, chunkSize } = planChunks(total, this.maxChunkData);
    const header = { flags, transferId, count, totalSize: total, hash, signature };
    const chunks: (Uint8Array | null)[] = new Array(count);
    for (let i = 0; i < count; i++) chunks[i] = buildChunk(payload, header, i, chunkSize);
    return { transferId, chunks };
  }

  /** Send a prepared transfer; `label` names it in errors. See sendWindowed for how it fails. */
  send(t: OutgoingTransfer, label: string): Promise<void> {
    return sendWindowed(this.window, t, label);
  }

  /** Feed one envelope from the transport. Never throws. */
  receive(payload: unknown): Received {
    if (this.isClosed) return { ok: false, error: new ClosedError("session is closed") };
    const envelope = asBytes(payload);
    if (!envelope) return { ok: false, error: new ProtocolError("E_DECODE", "envelope is not binary") };
    const max = this.o.limits.maxEnvelopeBytes;
    if (envelope.length > max)
      return {
        ok: false,
        error: new TooLargeError(`envelope of ${envelope.length} bytes exceeds ${max} bytes`),
      };
    try {
      const plain = this.cipher.open(envelope);
      return { ok: true, completed: this.reassembler.accept(parseFrame(plain)) };
    } catch (err) {
      return { ok: false, error: asProtocolError(err) };
    } finally {
      this.scheduleSweep();
    }
  }

  /**
   * Close (idempotent): pending sends reject with E_CLOSED (`reason` in the message), partial
   * transfers are dropped, and after `graceMs` the key is wiped and the transport closed — the grace
   * lets a last ack or error reply already handed to the transport reach the peer.
   */
  close(reason: string, graceMs = 0): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.reassembler.clear();
    const closedErr = new ClosedError(`session closed: ${reason}`);
    for (const fail of [...this.window.pending]) fail(closedErr);
    this.window.pending.clear();
    const shut = () => {
      this.cipher.destroy();
      this.o.transport.close();
    };
    if (graceMs > 0) unrefTimer(setTimeout(shut, graceMs));
    else setTimeout(shut, 0);
  }

  /** A sweep timer runs only while some transfer is unfinished. */
  private scheduleSweep(): void {
    if (this.reassembler.pending === 0) {
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
      return;
    }
    if (this.sweepTimer) return;
    const every = Math.max(10, Math.min(1000, this.o.timing.transferTimeoutMs / 4));
    this.sweepTimer = setInterval(() => {
      for (const e of this.reassembler.expire()) this.o.onStalled(e);
      if (this.reassembler.pending === 0) this.scheduleSweep();
    }, every);
    unrefTimer(this.sweepTimer);
  }
}
