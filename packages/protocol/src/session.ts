/**
 * An authenticated, encrypted session over any envelope transport (socket.io in production, an
 * in-memory pair in tests). Both ends use the same class with a different role:
 *
 *   send(msg)   validate → encode once → hash once → (sign, for updates) → chunk → seal → send with
 *               per-chunk acks, a window of chunks in flight, and resends of unacknowledged chunks
 *   receive(env) open (counter, MAC) → reassemble → hash check → decode → validate → verify → deliver
 *
 * Nothing a peer sends can throw out of receive(): every rejection becomes a ProtocolError that is
 * logged with the node id, reported to `error` listeners, answered with a sealed error message, and —
 * if it concerns authentication or ordering — closes this session (and only this one).
 */

import {
  buildChunk,
  FLAG_SIGNED,
  FRAME_HEADER_BYTES,
  MAX_U32,
  parseFrame,
  planChunks,
  Reassembler,
} from "./chunking.js";
import { decodeRaw, encodeTransient } from "./codec.js";
import { directionsFor, ENVELOPE_OVERHEAD, SessionCipher } from "./envelope.js";
import {
  asProtocolError,
  BadSignatureError,
  ClosedError,
  errorFromCode,
  isFatal,
  ProtocolError,
  TimeoutError,
  TooLargeError,
} from "./errors.js";
import type { ChunkAck } from "./events.js";
import { sha512 } from "./hashing.js";
import { type Identity, nodeIdString } from "./identity.js";
import { type Logger, stderrLogger } from "./logger.js";
import { tensorSpecOf, validateSessionMessage } from "./message-schemas.js";
import type {
  Capabilities,
  CoordinatorMessage,
  NodeMessage,
  ReceiveLimits,
  Role,
  SessionMessage,
  TensorSpec,
} from "./messages.js";
import { DEFAULT_LIMITS, type Limits } from "./messages.js";
import { signUpdate, updateDigest, verifyUpdateSignature } from "./update-signature.js";

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

/** Moves sealed envelopes; resolves with the peer's ack or rejects (TimeoutError, ClosedError). */
export interface EnvelopeTransport {
  send(envelope: Uint8Array, timeoutMs: number): Promise<ChunkAck>;
  close(): void;
}

/** Facts about a delivered message beyond its content. */
export interface MessageInfo {
  transferId: number;
  /** Size of the encoded message. */
  bytes: number;
  /** SHA-512 of the encoded message. */
  payloadHash: Uint8Array;
  /** Updates only: the node's Ed25519 signature over `digest` (already verified). Keep it for audit. */
  signature?: Uint8Array;
  digest?: Uint8Array;
}

export interface SessionOptions {
  role: Role;
  /** 32-byte session key from the handshake. */
  key: Uint8Array;
  transport: EnvelopeTransport;
  /** The node's id (its public key) — the peer's on the coordinator, our own on the node. */
  nodeId: Uint8Array;
  /** The peer's long-term public key. */
  peerKey: Uint8Array;
  /** Node only: signs updates. */
  identity?: Identity;
  capabilities?: Capabilities;
  limits?: Limits;
  /** What the peer accepts (from the handshake); messages are chunked and bounded to fit. */
  peerLimits?: ReceiveLimits;
  timing?: Timing;
  logger?: Logger;
  /** Validate our own outgoing messages before sending (default true: catches NaN/shape bugs locally). */
  validateOutgoing?: boolean;
}

type MessageListener<In> = (msg: In, info: MessageInfo) => void;
type ErrorListener = (err: ProtocolError) => void;
type CloseListener = (reason: string, err?: ProtocolError) => void;

const MAX_QUEUED = 64;
const MAX_REMEMBERED_ROUNDS = 16;

export class SecureSession<Out extends SessionMessage, In extends SessionMessage> {
  readonly role: Role;
  readonly nodeId: Uint8Array;
  readonly nodeIdString: string;
  readonly peerKey: Uint8Array;
  readonly capabilities: Capabilities | undefined;
  readonly limits: Limits;
  readonly timing: Timing;
  readonly peerLimits: ReceiveLimits;

  private readonly cipher: SessionCipher;
  private readonly transport: EnvelopeTransport;
  private readonly identity: Identity | undefined;
  private readonly logger: Logger;
  private readonly reassembler: Reassembler;
  private readonly validateOutgoing: boolean;
  private readonly maxChunkData: number;
  private nextTransferId = 0;
  private isClosed = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly pendingSends = new Set<(err: ProtocolError) => void>();

  private readonly messageListeners: MessageListener<In>[] = [];
  private readonly errorListeners: ErrorListener[] = [];
  private readonly closeListeners: CloseListener[] = [];
  private readonly queued: [In, MessageInfo][] = [];

  /** Coordinator: tensor specs of updates we will accept, by round (set by sending a round task). */
  private readonly expectedUpdates = new Map<number, readonly TensorSpec[]>();
  /** Coordinator: rounds whose evaluation we asked for. */
  private readonly expectedEvaluations = new Set<number>();
  /** Node: specs of the round tasks we received, to check our own updates before sending. */
  private readonly receivedTaskSpecs = new Map<number, readonly TensorSpec[]>();

  constructor(opts: SessionOptions) {
    this.role = opts.role;
    this.nodeId = opts.nodeId;
    this.nodeIdString = nodeIdString(opts.nodeId);
    this.peerKey = opts.peerKey;
    this.capabilities = opts.capabilities;
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.timing = opts.timing ?? DEFAULT_TIMING;
    this.transport = opts.transport;
    this.identity = opts.identity;
    this.logger = opts.logger ?? stderrLogger;
    this.validateOutgoing = opts.validateOutgoing ?? true;
    if (opts.role === "node" && !opts.identity)
      throw new Error("a node session needs its identity to sign updates");
    const dirs = directionsFor(opts.role);
    this.cipher = new SessionCipher(opts.key, dirs.send, dirs.recv);
    this.peerLimits = opts.peerLimits ?? this.limits;
    this.maxChunkData =
      Math.min(this.limits.maxEnvelopeBytes, this.peerLimits.maxEnvelopeBytes) -
      ENVELOPE_OVERHEAD -
      FRAME_HEADER_BYTES;
    if (this.maxChunkData < 1024)
      throw new RangeError("maxEnvelopeBytes is too small (need ≥ 1 KiB of data per chunk)");
    this.reassembler = new Reassembler({
      maxMessageBytes: this.limits.maxMessageBytes,
      transferTimeoutMs: this.timing.transferTimeoutMs,
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  // -------------------------------------------------------------------------------------------------
  // listeners

  on(event: "message", fn: MessageListener<In>): this;
  on(event: "error", fn: ErrorListener): this;
  on(event: "close", fn: CloseListener): this;
  on(event: "message" | "error" | "close", fn: MessageListener<In> | ErrorListener | CloseListener): this {
    if (event === "message") {
      this.messageListeners.push(fn as MessageListener<In>);
      // Messages that arrived before anyone listened (e.g. a round task sent right after the handshake).
      if (this.queued.length) queueMicrotask(() => this.flushQueue());
    } else if (event === "error") this.errorListeners.push(fn as ErrorListener);
    else this.closeListeners.push(fn as CloseListener);
    return this;
  }

  off(event: "message" | "error" | "close", fn: unknown): this {
    const list: unknown[] =
      event === "message"
        ? this.messageListeners
        : event === "error"
          ? this.errorListeners
          : this.closeListeners;
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
    return this;
  }

  /** Resolves with the next message (optionally of a given type); rejects if the session closes first. */
  next<T extends In["type"]>(type?: T, timeoutMs = 0): Promise<Extract<In, { type: T }>> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onMsg: MessageListener<In> = (m) => {
        if (type !== undefined && m.type !== type) return;
        done();
        resolve(m as Extract<In, { type: T }>);
      };
      const onClose: CloseListener = (reason, err) => {
        done();
        reject(err ?? new ClosedError(`session closed: ${reason}`));
      };
      const done = () => {
        if (timer) clearTimeout(timer);
        this.off("message", onMsg);
        this.off("close", onClose);
      };
      if (this.isClosed) return reject(new ClosedError("session is closed"));
      this.on("message", onMsg).on("close", onClose);
      if (timeoutMs > 0)
        timer = setTimeout(() => {
          done();
          reject(new TimeoutError(`no ${type ?? "message"} within ${timeoutMs} ms`));
        }, timeoutMs);
    });
  }

  // -------------------------------------------------------------------------------------------------
  // expectations (what an incoming update / evaluation result must match)

  /** Accept one update for `roundId` whose Δ matches `spec`. Sending a round task does this for you. */
  expectUpdate(roundId: number, spec: readonly TensorSpec[]): void {
    this.expectedUpdates.set(roundId, spec);
    trim(this.expectedUpdates);
  }

  /** Accept one evaluation result for `roundId`. Sending an evaluate task does this for you. */
  expectEvaluation(roundId: number): void {
    this.expectedEvaluations.add(roundId);
  }

  /** Stop accepting results for a round (e.g. its deadline passed). */
  forgetRound(roundId: number): void {
    this.expectedUpdates.delete(roundId);
    this.expectedEvaluations.delete(roundId);
  }

  // -------------------------------------------------------------------------------------------------
  // sending

  /**
   * Send a message. Resolves when the peer acknowledged every chunk of it; rejects with the peer's
   * error code if it rejected the message, E_TIMEOUT if a chunk stayed unacknowledged after retries,
   * E_CLOSED if the session closed, or locally with E_SCHEMA / E_TOO_LARGE before anything is sent.
   */
  async send(msg: Out): Promise<void> {
    if (this.isClosed) throw new ClosedError("session is closed");
    if (this.validateOutgoing) {
      validateSessionMessage(this.role, msg, {
        limits: this.limits,
        expectedUpdate:
          this.role === "node" && msg.type === "update" && this.receivedTaskSpecs.has(msg.roundId)
            ? (r) => this.receivedTaskSpecs.get(r)
            : undefined,
      });
    }
    // Encode once into msgpackr's scratch buffer; it is copied into the chunk frames below, before any
    // other encode can reuse it.
    const payload = encodeTransient(msg);
    const total = payload.length;
    const maxSend = Math.min(this.limits.maxMessageBytes, this.peerLimits.maxMessageBytes);
    if (total > maxSend)
      throw new TooLargeError(`message of ${total} bytes exceeds the limit of ${maxSend} bytes`);
    const hash = sha512(payload);
    let signature: Uint8Array = new Uint8Array(64);
    let flags = 0;
    if (this.role === "node" && msg.type === "update") {
      signature = signUpdate(
        updateDigest(msg.roundId, this.nodeId, hash),
        (this.identity as Identity).secretKey,
      );
      flags = FLAG_SIGNED;
    }
    const transferId = this.nextTransferId;
    this.nextTransferId = this.nextTransferId === MAX_U32 ? 0 : this.nextTransferId + 1;
    const { count, chunkSize } = planChunks(total, this.maxChunkData);
    const chunks: (Uint8Array | null)[] = new Array(count);
    const header = { flags, transferId, count, totalSize: total, hash, signature };
    for (let i = 0; i < count; i++) chunks[i] = buildChunk(payload, header, i, chunkSize);

    if (this.role === "coordinator") {
      if (msg.type === "round_task") this.expectUpdate(msg.roundId, tensorSpecOf(msg.weights));
      else if (msg.type === "evaluate_task") this.expectEvaluation(msg.roundId);
    }
    await this.pump(chunks, transferId, msg.type);
  }

  /** Say goodbye and close. */
  async bye(reason = "done"): Promise<void> {
    if (this.isClosed) return;
    try {
      await this.send({ type: "bye", reason } as Out);
    } catch (err) {
      // Best effort: a peer that is already gone has nothing left to be told.
      if (!(err instanceof ProtocolError && err.code === "E_CLOSED")) throw err;
    } finally {
      this.close(`bye: ${reason}`);
    }
  }

  private pump(chunks: (Uint8Array | null)[], transferId: number, type: string): Promise<void> {
    const count = chunks.length;
    const { window, retries, ackTimeoutMs } = this.timing;
    return new Promise<void>((resolve, reject) => {
      let next = 0;
      let inflight = 0;
      let acked = 0;
      let failed = false;
      const fail = (err: ProtocolError) => {
        if (failed) return;
        failed = true;
        this.pendingSends.delete(fail);
        reject(err);
      };
      this.pendingSends.add(fail);
      const launch = (i: number, attempt: number) => {
        if (this.isClosed) return fail(new ClosedError("session closed while sending"));
        const env = this.cipher.sealPadded(chunks[i] as Uint8Array);
        inflight++;
        this.transport.send(env, ackTimeoutMs).then(
          (ack) => {
            inflight--;
            if (failed) return;
            if (!ack.ok) {
              return fail(
                errorFromCode(ack.code, `peer rejected ${type} (transfer ${transferId}): ${ack.message}`, {
                  transferId,
                }),
              );
            }
            chunks[i] = null;
            if (++acked === count) {
              this.pendingSends.delete(fail);
              resolve();
            } else pumpMore();
          },
          (err: unknown) => {
            inflight--;
            if (failed) return;
            const e = asProtocolError(err, "E_TIMEOUT");
            if (e.code === "E_TIMEOUT" && attempt < retries && !this.isClosed) {
              // A peer busy with a long local step answers late; one resend is routine, more is news.
              this.logger[attempt === 0 ? "info" : "warn"]("chunk unacknowledged, resending", {
                node: this.nodeIdString,
                transferId,
                chunk: i,
                attempt: attempt + 1,
              });
              launch(i, attempt + 1);
            } else
              fail(
                e.code === "E_TIMEOUT"
                  ? new TimeoutError(
                      `chunk ${i} of ${type} (transfer ${transferId}) unacknowledged after ${retries + 1} attempts of ${ackTimeoutMs} ms`,
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

  // -------------------------------------------------------------------------------------------------
  // receiving

  /** Feed one envelope from the transport. Never throws; returns the ack to send back. */
  receive(envelope: unknown): ChunkAck {
    if (this.isClosed) return nack(new ClosedError("session is closed"));
    if (!(envelope instanceof Uint8Array))
      return this.reject(new ProtocolError("E_DECODE", "envelope is not binary"));
    if (envelope.length > this.limits.maxEnvelopeBytes)
      return this.reject(
        new TooLargeError(
          `envelope of ${envelope.length} bytes exceeds ${this.limits.maxEnvelopeBytes} bytes`,
        ),
      );
    let completed: ReturnType<Reassembler["accept"]>;
    try {
      const plain = this.cipher.open(envelope);
      completed = this.reassembler.accept(parseFrame(plain));
    } catch (err) {
      return this.reject(asProtocolError(err));
    } finally {
      this.scheduleSweep();
    }
    if (!completed) return { ok: true };

    const peerRole: Role = this.role === "node" ? "coordinator" : "node";
    let raw: unknown;
    let msg: In;
    let info: MessageInfo;
    try {
      raw = decodeRaw(completed.payload, this.limits.maxMessageBytes);
      msg = validateSessionMessage(peerRole, raw, {
        limits: this.limits,
        expectedUpdate: this.role === "coordinator" ? (r) => this.expectedUpdates.get(r) : undefined,
      }) as In;
      info = {
        transferId: completed.transferId,
        bytes: completed.payload.length,
        payloadHash: completed.hash,
      };
      if (msg.type === "update") {
        if (!completed.signature)
          throw new BadSignatureError(`update for round ${msg.roundId} is not signed`);
        const digest = updateDigest(msg.roundId, this.nodeId, completed.hash);
        if (!verifyUpdateSignature(digest, completed.signature, this.nodeId))
          throw new BadSignatureError(`update for round ${msg.roundId} has an invalid signature`);
        info.signature = completed.signature;
        info.digest = digest;
        this.expectedUpdates.delete(msg.roundId);
      } else if (completed.signature) {
        throw new BadSignatureError(`${msg.type} must not carry an update signature`);
      }
      if (msg.type === "evaluate_result" && this.role === "coordinator") {
        if (!this.expectedEvaluations.has(msg.roundId))
          throw new ProtocolError(
            "E_UNEXPECTED",
            `no evaluation result is expected for round ${msg.roundId}`,
          );
        this.expectedEvaluations.delete(msg.roundId);
      }
      if (msg.type === "round_task") {
        this.receivedTaskSpecs.set(msg.roundId, tensorSpecOf(msg.weights));
        trim(this.receivedTaskSpecs);
      }
    } catch (err) {
      return this.reject(asProtocolError(err, "E_SCHEMA"), roundIdOf(raw));
    }
    this.deliver(msg, info);
    // The peer closes the connection once it has our ack; we only drop it if the peer does not.
    if (msg.type === "bye") this.close(`peer said bye: ${msg.reason}`, undefined, 1000);
    return { ok: true };
  }

  private deliver(msg: In, info: MessageInfo): void {
    if (this.messageListeners.length === 0) {
      if (this.queued.length >= MAX_QUEUED) {
        this.logger.warn("message dropped: no listener and queue full", {
          node: this.nodeIdString,
          type: msg.type,
        });
        return;
      }
      this.queued.push([msg, info]);
      return;
    }
    for (const l of [...this.messageListeners]) {
      try {
        l(msg, info);
      } catch (err) {
        this.logger.error("message listener threw", {
          node: this.nodeIdString,
          type: msg.type,
          error: String(err),
        });
      }
    }
  }

  private flushQueue(): void {
    while (this.queued.length && this.messageListeners.length) {
      const [m, i] = this.queued.shift() as [In, MessageInfo];
      this.deliver(m, i);
    }
  }

  /** Log, report, answer with a sealed error, and close if the error is fatal. */
  private reject(err: ProtocolError, roundId: number | null = null): ChunkAck {
    const fatal = isFatal(err);
    this.logger.warn("rejected message", {
      node: this.nodeIdString,
      role: this.role,
      code: err.code,
      message: err.message,
      fatal,
    });
    for (const l of [...this.errorListeners]) {
      try {
        l(err);
      } catch {
        // a listener's bug must not turn into a crash
      }
    }
    if (!this.isClosed) {
      this.send({
        type: "error",
        code: err.code,
        message: err.message.slice(0, 1000),
        roundId,
        fatal,
      } as Out).catch(() => {});
      // A short grace lets the error reply reach the peer before the disconnect.
      if (fatal) this.close(`fatal protocol error ${err.code}`, err, 50);
    }
    return nack(err);
  }

  private scheduleSweep(): void {
    if (this.reassembler.pending === 0) {
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
      return;
    }
    if (this.sweepTimer) return;
    const every = Math.max(10, Math.min(1000, this.timing.transferTimeoutMs / 4));
    this.sweepTimer = setInterval(() => {
      for (const e of this.reassembler.expire()) this.reject(e);
      if (this.reassembler.pending === 0) this.scheduleSweep();
    }, every);
    this.sweepTimer.unref();
  }

  /** Close the session (idempotent). Pending sends reject with E_CLOSED; the transport is closed. */
  close(reason = "closed", err?: ProtocolError, graceMs = 0): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.reassembler.clear();
    const closedErr = new ClosedError(`session closed: ${reason}`);
    for (const f of [...this.pendingSends]) f(closedErr);
    this.pendingSends.clear();
    this.logger.info("session closed", { node: this.nodeIdString, role: this.role, reason });
    // Let queued emits (an ack, a fatal error reply) flush before the transport goes away.
    const shut = () => {
      this.cipher.destroy();
      this.transport.close();
    };
    if (graceMs > 0) setTimeout(shut, graceMs).unref();
    else setImmediate(shut);
    for (const l of [...this.closeListeners]) {
      try {
        l(reason, err);
      } catch {
        // ignore
      }
    }
  }
}

export type ServerSession = SecureSession<CoordinatorMessage, NodeMessage>;
export type ClientSession = SecureSession<NodeMessage, CoordinatorMessage>;

function nack(err: ProtocolError): ChunkAck {
  return { ok: false, code: err.code, message: err.message.slice(0, 1000) };
}

function trim<K, V>(m: Map<K, V>): void {
  while (m.size > MAX_REMEMBERED_ROUNDS) {
    const k = m.keys().next().value as K;
    m.delete(k);
  }
}

/** Best-effort round id of a rejected message, so the error reply can name the round. */
function roundIdOf(raw: unknown): number | null {
  if (typeof raw !== "object" || raw === null || !Object.hasOwn(raw, "roundId")) return null;
  const r = (raw as { roundId: unknown }).roundId;
  return typeof r === "number" && Number.isInteger(r) && r >= 0 && r <= MAX_U32 ? r : null;
}
