/**
 * An authenticated, encrypted session speaking the federated-learning messages, over any envelope
 * transport (socket.io in production, an in-memory pair in tests). Both ends use the same class with a
 * different role. It adds the message rules on top of a SealedTransfer, which moves opaque payloads:
 *
 *   send(msg)    validate → encode once → (updates: sign the payload hash) → transfer
 *   receive(env) transfer → decode → validate → verify the update signature → round rules → deliver
 *
 * Nothing a peer sends can throw out of receive(): every rejection becomes a ProtocolError that is
 * logged with the node id, reported to `error` listeners, answered with a sealed error message, and —
 * if it concerns authentication or ordering — closes this session (and only this one). Close
 * listeners get a typed CloseReason; a `bye` received closes the session as `{kind: "bye", by: "peer"}`.
 */

import { type CompletedTransfer, MAX_U32 } from "./chunking.js";
import { type CloseReason, describeCloseReason } from "./close-reason.js";
import { decodeRaw, encodeMessage, encodeTransient } from "./codec.js";
import {
  asProtocolError,
  BadSignatureError,
  ClosedError,
  isFatal,
  ProtocolError,
  TimeoutError,
} from "./errors.js";
import type { ChunkAck } from "./events.js";
import { sha512 } from "./hashing.js";
import { nodeIdString } from "./identity.js";
import { Listeners } from "./listeners.js";
import { type Logger, stderrLogger } from "./logger.js";
import { validateSessionMessage } from "./message-schemas.js";
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
import { type NodeIdentity, signAs } from "./node-signer.js";
import { RoundExpectations } from "./round-expectations.js";
import { SealedTransfer } from "./transfer/sealed-transfer.js";
import { DEFAULT_TIMING, type EnvelopeTransport, type Timing } from "./transfer/transport.js";
import { signUpdate, updateDigest, verifyUpdateSignature } from "./update-signature.js";

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
  identity?: NodeIdentity;
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
type CloseListener = (reason: CloseReason) => void;

/** Messages held for a first listener (e.g. a round task sent right after the handshake). */
const MAX_QUEUED = 64;

export class SecureSession<Out extends SessionMessage, In extends SessionMessage> {
  readonly role: Role;
  readonly nodeId: Uint8Array;
  readonly nodeIdString: string;
  readonly peerKey: Uint8Array;
  readonly capabilities: Capabilities | undefined;
  readonly limits: Limits;
  readonly timing: Timing;
  readonly peerLimits: ReceiveLimits;

  private readonly transfer: SealedTransfer;
  private readonly rounds: RoundExpectations;
  private readonly identity: NodeIdentity | undefined;
  private readonly logger: Logger;
  private readonly validateOutgoing: boolean;

  private readonly messageListeners = new Listeners<[In, MessageInfo]>();
  private readonly errorListeners = new Listeners<[ProtocolError]>();
  private readonly closeListeners = new Listeners<[CloseReason]>();
  private readonly queued: [In, MessageInfo][] = [];
  private whyClosed: CloseReason | undefined;

  constructor(opts: SessionOptions) {
    this.role = opts.role;
    this.nodeId = opts.nodeId;
    this.nodeIdString = nodeIdString(opts.nodeId);
    this.peerKey = opts.peerKey;
    this.capabilities = opts.capabilities;
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.timing = opts.timing ?? DEFAULT_TIMING;
    this.identity = opts.identity;
    this.logger = opts.logger ?? stderrLogger;
    this.validateOutgoing = opts.validateOutgoing ?? true;
    if (opts.role === "node" && !opts.identity)
      throw new Error("a node session needs its identity to sign updates");
    this.peerLimits = opts.peerLimits ?? this.limits;
    this.rounds = new RoundExpectations(opts.role);
    this.transfer = new SealedTransfer({
      role: opts.role,
      key: opts.key,
      transport: opts.transport,
      limits: this.limits,
      peerLimits: this.peerLimits,
      timing: this.timing,
      logger: this.logger,
      node: this.nodeIdString,
      onStalled: (err) => this.reject(err),
    });
  }

  get closed(): boolean {
    return this.transfer.closed;
  }

  /**
   * Why the session closed (undefined while open). Read it after the fact rather than only from a
   * close listener: the session may close (e.g. on the peer's bye) before the caller subscribes.
   */
  get closeReason(): CloseReason | undefined {
    return this.whyClosed;
  }

  // -------------------------------------------------------------------------------------------------
  // listeners

  on(event: "message", fn: MessageListener<In>): this;
  on(event: "error", fn: ErrorListener): this;
  on(event: "close", fn: CloseListener): this;
  on(event: "message" | "error" | "close", fn: MessageListener<In> | ErrorListener | CloseListener): this {
    if (event === "message") {
      this.messageListeners.add(fn as MessageListener<In>);
      if (this.queued.length) queueMicrotask(() => this.flushQueue());
    } else if (event === "error") this.errorListeners.add(fn as ErrorListener);
    else this.closeListeners.add(fn as CloseListener);
    return this;
  }

  off(event: "message" | "error" | "close", fn: unknown): this {
    if (event === "message") this.messageListeners.remove(fn);
    else if (event === "error") this.errorListeners.remove(fn);
    else this.closeListeners.remove(fn);
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
      const onClose: CloseListener = (reason) => {
        done();
        reject(
          reason.kind === "error"
            ? reason.error
            : new ClosedError(`session closed: ${describeCloseReason(reason)}`),
        );
      };
      const done = () => {
        if (timer) clearTimeout(timer);
        this.off("message", onMsg);
        this.off("close", onClose);
      };
      if (this.closed) return reject(new ClosedError("session is closed"));
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
    this.rounds.expectUpdate(roundId, spec);
  }

  /** Accept one evaluation result for `roundId`. Sending an evaluate task does this for you. */
  expectEvaluation(roundId: number): void {
    this.rounds.expectEvaluation(roundId);
  }

  /** Stop accepting results for a round (e.g. its deadline passed). */
  forgetRound(roundId: number): void {
    this.rounds.forget(roundId);
  }

  // -------------------------------------------------------------------------------------------------
  // sending

  /**
   * Send a message. Resolves when the peer acknowledged every chunk of it; rejects with the peer's
   * error code if it rejected the message, E_TIMEOUT if a chunk stayed unacknowledged after retries,
   * E_CLOSED if the session closed, or locally with E_SCHEMA / E_TOO_LARGE before anything is sent.
   */
  async send(msg: Out): Promise<void> {
    if (this.closed) throw new ClosedError("session is closed");
    if (this.validateOutgoing) {
      validateSessionMessage(this.role, msg, {
        limits: this.limits,
        expectedUpdate: this.rounds.outgoingUpdate(msg),
      });
    }
    const identity = this.identity;
    const signed = this.role === "node" && msg.type === "update" && identity;
    let payload: Uint8Array;
    let sign: ((hash: Uint8Array) => Uint8Array) | undefined;
    if (signed && !("secretKey" in identity)) {
      // An asynchronous signer: encode into a buffer of our own (msgpackr's scratch buffer could be
      // reused while it signs), sign the update's digest, then chunk.
      payload = encodeMessage(msg);
      const signature = await signAs(identity, updateDigest(msg.roundId, this.nodeId, sha512(payload)));
      if (this.closed) throw new ClosedError("session is closed");
      sign = () => signature;
    } else {
      // Encode into msgpackr's scratch buffer; prepare() copies it into the chunk frames at once,
      // before any other encode can reuse it.
      payload = encodeTransient(msg);
      if (signed && "secretKey" in identity)
        sign = (hash) => signUpdate(updateDigest(msg.roundId, this.nodeId, hash), identity.secretKey);
    }
    const prepared = this.transfer.prepare(payload, sign);
    this.rounds.sending(msg);
    await this.transfer.send(prepared, msg.type);
  }

  /** Say goodbye and close. */
  async bye(reason = "done"): Promise<void> {
    if (this.closed) return;
    try {
      await this.send({ type: "bye", reason } as Out);
    } catch (err) {
      // Best effort: a peer that is already gone has nothing left to be told.
      if (!(err instanceof ProtocolError && err.code === "E_CLOSED")) throw err;
    } finally {
      this.shutdown({ kind: "bye", by: "self", reason });
    }
  }

  // -------------------------------------------------------------------------------------------------
  // receiving

  /** Feed one envelope from the transport. Never throws; returns the ack to send back. */
  receive(envelope: unknown): ChunkAck {
    if (this.closed) return nack(new ClosedError("session is closed"));
    const got = this.transfer.receive(envelope);
    if (!got.ok) return this.reject(got.error);
    if (!got.completed) return { ok: true };
    let raw: unknown;
    let delivered: [In, MessageInfo];
    try {
      raw = decodeRaw(got.completed.payload, this.limits.maxMessageBytes);
      delivered = this.accept(raw, got.completed);
    } catch (err) {
      return this.reject(asProtocolError(err, "E_SCHEMA"), roundIdOf(raw));
    }
    const [msg, info] = delivered;
    this.deliver(msg, info);
    // The peer closes the connection once it has our ack; we only drop it if the peer does not.
    if (msg.type === "bye") this.shutdown({ kind: "bye", by: "peer", reason: msg.reason }, 1000);
    return { ok: true };
  }

  /** The message rules for a decoded payload: schema, update signature, round expectations. */
  private accept(raw: unknown, completed: CompletedTransfer): [In, MessageInfo] {
    const peerRole: Role = this.role === "node" ? "coordinator" : "node";
    const msg = validateSessionMessage(peerRole, raw, {
      limits: this.limits,
      expectedUpdate: this.role === "coordinator" ? this.rounds.incomingUpdate : undefined,
    }) as In;
    const info: MessageInfo = {
      transferId: completed.transferId,
      bytes: completed.payload.length,
      payloadHash: completed.hash,
    };
    if (msg.type === "update") {
      if (!completed.signature) throw new BadSignatureError(`update for round ${msg.roundId} is not signed`);
      const digest = updateDigest(msg.roundId, this.nodeId, completed.hash);
      if (!verifyUpdateSignature(digest, completed.signature, this.nodeId))
        throw new BadSignatureError(`update for round ${msg.roundId} has an invalid signature`);
      info.signature = completed.signature;
      info.digest = digest;
    } else if (completed.signature) {
      throw new BadSignatureError(`${msg.type} must not carry an update signature`);
    }
    this.rounds.received(msg);
    return [msg, info];
  }

  private deliver(msg: In, info: MessageInfo): void {
    if (this.messageListeners.size === 0) {
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
    this.messageListeners.emit([msg, info], (err) =>
      this.logger.error("message listener threw", {
        node: this.nodeIdString,
        type: msg.type,
        error: String(err),
      }),
    );
  }

  private flushQueue(): void {
    while (this.queued.length && this.messageListeners.size) {
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
    // A listener's bug must not turn into a crash.
    this.errorListeners.emit([err]);
    if (!this.closed) {
      this.send({
        type: "error",
        code: err.code,
        message: err.message.slice(0, 1000),
        roundId,
        fatal,
      } as Out).catch(() => {});
      // A short grace lets the error reply reach the peer before the disconnect.
      if (fatal) this.shutdown({ kind: "error", error: err }, 50);
    }
    return nack(err);
  }

  /**
   * Close the session (idempotent). Pending sends reject with E_CLOSED; the transport is closed. A
   * string is this process's own reason (`{kind: "local"}`); the channels pass transport and error
   * reasons.
   */
  close(reason: string | CloseReason = "closed"): void {
    this.shutdown(typeof reason === "string" ? { kind: "local", reason } : reason);
  }

  private shutdown(reason: CloseReason, graceMs = 0): void {
    if (this.closed) return;
    this.whyClosed = reason;
    const text = describeCloseReason(reason);
    this.transfer.close(text, graceMs);
    this.logger.info("session closed", { node: this.nodeIdString, role: this.role, reason: text });
    this.closeListeners.emit([reason]);
  }
}

export type ServerSession = SecureSession<CoordinatorMessage, NodeMessage>;
export type ClientSession = SecureSession<NodeMessage, CoordinatorMessage>;

function nack(err: ProtocolError): ChunkAck {
  return { ok: false, code: err.code, message: err.message.slice(0, 1000) };
}

/** Best-effort round id of a rejected message, so the error reply can name the round. */
function roundIdOf(raw: unknown): number | null {
  if (typeof raw !== "object" || raw === null || !Object.hasOwn(raw, "roundId")) return null;
  const r = (raw as { roundId: unknown }).roundId;
  return typeof r === "number" && Number.isInteger(r) && r >= 0 && r <= MAX_U32 ? r : null;
}
