/**
 * The coordinator's end: a socket.io server that runs the handshake for every connection, admits
 * allow-listed nodes (or, only when explicitly enabled, nodes proving the join token), and hands out
 * authenticated ServerSessions. A misbehaving connection is refused or closed on its own; nothing it
 * sends can throw out of an event handler.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo, Socket as NetSocket } from "node:net";
import { Server, type Socket } from "socket.io";
import { httpBufferSizeFor, resolveLimits, resolveTiming, socketTransport } from "./channel-common.js";
import { decodeHandshake, encodeMessage } from "./codec.js";
import {
  asProtocolError,
  BadTokenError,
  HandshakeError,
  NotAdmittedError,
  type ProtocolError,
  TimeoutError,
  UnknownNodeError,
} from "./errors.js";
import type { ChunkAck, ClientToServerEvents, ServerToClientEvents } from "./events.js";
import { createChallenge, verifyResponse } from "./handshake.js";
import { type AllowList, type Identity, nodeIdString, verifyTokenProof } from "./identity.js";
import { type Logger, stderrLogger } from "./logger.js";
import type { JoinMessage, Limits } from "./messages.js";
import { PROTOCOL_VERSION } from "./messages.js";
import { SecureSession, type ServerSession } from "./session.js";
import type { Timing } from "./transfer/transport.js";

export interface ServerChannelOptions {
  /** The coordinator's long-term Ed25519 identity; nodes pin its public key. */
  identity: Identity;
  /** Nodes allowed to join. Required unless open enrolment is on. */
  allowList?: AllowList;
  /** Admit nodes that are not on the allow-list if they prove knowledge of `joinToken`. Off by default. */
  openEnrolment?: boolean;
  /** Shared secret for open enrolment (≥ 16 characters). Required with openEnrolment, ignored otherwise. */
  joinToken?: string;
  /** Default 127.0.0.1 — bind to 0.0.0.0 deliberately. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  limits?: Partial<Limits>;
  timing?: Partial<Timing>;
  logger?: Logger;
  /** PEM certificate chain and key: serve wss:// (TLS) instead of ws://. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Plain-HTTP hygiene on the node port (see HTTP_DEFAULTS). */
  http?: Partial<HttpHygiene>;
}

/**
 * The node port speaks socket.io over websockets and nothing else. Any other request gets a 404 at
 * once; a connection that sends no complete request is closed after `headersTimeoutMs`, an idle one
 * after `idleTimeoutMs` (upgraded websockets are exempt: the ws library clears the socket timeout);
 * and one address may hold at most `maxConnectionsPerAddress` open connections, so a client opening
 * sockets and sending nothing cannot exhaust the process's file descriptors.
 */
export interface HttpHygiene {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnectionsPerAddress: number;
}

export const HTTP_DEFAULTS: Readonly<HttpHygiene> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 20_000,
  idleTimeoutMs: 30_000,
  maxConnectionsPerAddress: 128,
});

/**
 * socket.io heartbeat: a node training a long local step may not answer a ping at once, so the
 * timeout is generous; a dead peer is still detected within about two minutes.
 */
export const HEARTBEAT = Object.freeze({ pingIntervalMs: 25_000, pingTimeoutMs: 90_000 });

export interface RefusalInfo {
  /** Node id if the join got that far. */
  nodeId: string | undefined;
  remoteAddress: string;
  error: ProtocolError;
}

/** Refusal reasons the peer only ever sees as E_NOT_ADMITTED. */
const ADMISSION_CODES = new Set(["E_UNKNOWN_NODE", "E_BAD_SIGNATURE", "E_BAD_TOKEN"]);

export class ServerChannel {
  readonly limits: Limits;
  readonly timing: Timing;
  private readonly live = new Map<string, ServerSession>();
  private readonly sessionListeners: ((s: ServerSession) => void)[] = [];
  private readonly refusalListeners: ((r: RefusalInfo) => void)[] = [];
  private readonly logger: Logger;
  private closing = false;

  private constructor(
    private readonly opts: ServerChannelOptions,
    private readonly io: Server<ClientToServerEvents, ServerToClientEvents>,
    readonly port: number,
    readonly host: string,
    limits: Limits,
    timing: Timing,
    private readonly netSockets: Set<NetSocket>,
  ) {
    this.limits = limits;
    this.timing = timing;
    this.logger = opts.logger ?? stderrLogger;
    io.on("connection", (socket) => this.handleConnection(socket));
  }

  /** Start listening; resolves once the port is bound. */
  static async listen(opts: ServerChannelOptions): Promise<ServerChannel> {
    if (opts.openEnrolment) {
      if (typeof opts.joinToken !== "string" || opts.joinToken.length < 16)
        throw new BadTokenError("open enrolment needs a join token of at least 16 characters");
    } else if (!opts.allowList) {
      throw new UnknownNodeError("an allow-list is required unless open enrolment is explicitly enabled");
    }
    const limits = resolveLimits(opts.limits);
    const timing = resolveTiming(opts.timing);
    const hygiene = { ...HTTP_DEFAULTS, ...opts.http };
    // socket.io answers /socket.io/ itself and hands every other request to this handler.
    const notFound = (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8", connection: "close" });
      res.end("not found: this port serves MemArc nodes over socket.io\n");
    };
    const http = opts.tls
      ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key }, notFound)
      : createServer(notFound);
    http.headersTimeout = hygiene.headersTimeoutMs;
    http.requestTimeout = hygiene.requestTimeoutMs;
    http.setTimeout(hygiene.idleTimeoutMs, (sock: NetSocket) => sock.destroy());
    // Upgraded websocket sockets are no longer tracked by the http server; keep them so close() can
    // end them (otherwise a half-closed connection keeps the process alive until its timeouts fire).
    const sockets = new Set<NetSocket>();
    const perAddress = new Map<string, number>();
    http.on("connection", (sock: NetSocket) => {
      const addr = sock.remoteAddress ?? "?";
      const n = (perAddress.get(addr) ?? 0) + 1;
      if (n > hygiene.maxConnectionsPerAddress) {
        sock.destroy();
        return;
      }
      perAddress.set(addr, n);
      sockets.add(sock);
      sock.once("close", () => {
        sockets.delete(sock);
        const left = (perAddress.get(addr) ?? 1) - 1;
        if (left <= 0) perAddress.delete(addr);
        else perAddress.set(addr, left);
      });
    });
    const io = new Server<ClientToServerEvents, ServerToClientEvents>(http, {
      maxHttpBufferSize: httpBufferSizeFor(limits),
      transports: ["websocket"],
      serveClient: false,
      // Our own handshake authenticates; socket.io's connection-state recovery would replay across it.
      connectionStateRecovery: undefined,
      pingInterval: HEARTBEAT.pingIntervalMs,
      pingTimeout: HEARTBEAT.pingTimeoutMs,
    });
    const host = opts.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(opts.port ?? 0, host, () => {
        http.off("error", reject);
        resolve();
      });
    });
    const port = (http.address() as AddressInfo).port;
    return new ServerChannel(opts, io, port, host, limits, timing, sockets);
  }

  /** URL a ClientChannel can connect to. */
  get url(): string {
    const h = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `${this.opts.tls ? "https" : "http"}://${h}:${this.port}`;
  }

  get publicKey(): Uint8Array {
    return this.opts.identity.publicKey;
  }

  /** Authenticated sessions currently open, one per node id. */
  get sessions(): ServerSession[] {
    return [...this.live.values()];
  }

  session(nodeId: string): ServerSession | undefined {
    return this.live.get(nodeId);
  }

  on(event: "session", fn: (s: ServerSession) => void): this;
  on(event: "refused", fn: (r: RefusalInfo) => void): this;
  on(event: "session" | "refused", fn: ((s: ServerSession) => void) | ((r: RefusalInfo) => void)): this {
    if (event === "session") this.sessionListeners.push(fn as (s: ServerSession) => void);
    else this.refusalListeners.push(fn as (r: RefusalInfo) => void);
    return this;
  }

  /** Close every session and stop listening. */
  async close(): Promise<void> {
    this.closing = true;
    for (const s of this.live.values()) s.close("coordinator shutting down");
    this.live.clear();
    const closed = new Promise<void>((resolve) => {
      this.io.close(() => resolve());
    });
    // Give sessions' final frames a moment, then end any connection still open.
    await new Promise((r) => setTimeout(r, 20));
    for (const sock of this.netSockets) sock.destroy();
    await closed;
  }

  private handleConnection(socket: Socket<ClientToServerEvents, ServerToClientEvents>): void {
    const remoteAddress = socket.handshake.address;
    let stage: "join" | "response" | "done" | "refused" = "join";
    let nodeId: string | undefined;
    let pending:
      | {
          join: JoinMessage;
          ephemeral: { publicKey: Uint8Array; secretKey: Uint8Array };
          transcript: Uint8Array;
          enrolling: boolean;
          stranger: boolean;
        }
      | undefined;
    let session: ServerSession | undefined;

    const refuse = (error: ProtocolError) => {
      if (stage === "refused") return;
      stage = "refused";
      clearTimeout(timer);
      if (pending) pending.ephemeral.secretKey.fill(0);
      this.logger.warn("handshake refused", {
        node: nodeId,
        remote: remoteAddress,
        code: error.code,
        message: error.message,
      });
      for (const l of this.refusalListeners) {
        try {
          l({ nodeId, remoteAddress, error });
        } catch {
          // listeners must not break the server
        }
      }
      const told = ADMISSION_CODES.has(error.code) ? new NotAdmittedError() : error;
      try {
        socket.emit(
          "refused",
          encodeMessage({
            type: "refused",
            version: PROTOCOL_VERSION,
            code: told.code,
            message: told.message.slice(0, 1000),
          }),
        );
      } catch {
        // the connection may already be gone
      }
      setImmediate(() => socket.disconnect(true));
    };

    const timer = setTimeout(
      () => refuse(new TimeoutError(`handshake not completed within ${this.timing.handshakeTimeoutMs} ms`)),
      this.timing.handshakeTimeoutMs,
    );
    timer.unref();

    const guard =
      <A extends unknown[]>(fn: (...args: A) => void) =>
      (...args: A) => {
        try {
          fn(...args);
        } catch (err) {
          const e = asProtocolError(err);
          if (session) session.close({ kind: "error", error: e });
          else refuse(e);
        }
      };

    socket.on(
      "join",
      guard((payload: unknown) => {
        if (stage !== "join") throw new HandshakeError(`unexpected join during ${stage}`);
        if (!(payload instanceof Uint8Array)) throw new HandshakeError("join payload is not binary");
        const join = decodeHandshake(payload, this.limits);
        if (join.type !== "join") throw new HandshakeError(`expected join, got ${join.type}`);
        nodeId = nodeIdString(join.nodeId);
        // An unknown key is challenged like a known one and refused only after its response, in
        // the same words as a bad signature: the handshake does not reveal who is allow-listed.
        const listed = this.opts.allowList?.has(join.nodeId) === true;
        const enrolling = !listed && this.opts.openEnrolment === true;
        const stranger = !listed && !enrolling;
        const { challenge, ephemeral, transcript } = createChallenge(this.opts.identity, join, this.limits);
        pending = { join, ephemeral, transcript, enrolling, stranger };
        stage = "response";
        socket.emit("challenge", encodeMessage(challenge));
      }),
    );

    socket.on(
      "response",
      guard((payload: unknown) => {
        if (stage !== "response" || !pending) throw new HandshakeError(`unexpected response during ${stage}`);
        if (!(payload instanceof Uint8Array)) throw new HandshakeError("response payload is not binary");
        const response = decodeHandshake(payload, this.limits);
        if (response.type !== "response") throw new HandshakeError(`expected response, got ${response.type}`);
        const { join, ephemeral, transcript, enrolling, stranger } = pending;
        // Every check runs whatever the outcome of the others, so timing tells no more than the reply.
        let key: Uint8Array | null = null;
        let failure: ProtocolError | null = null;
        try {
          key = verifyResponse(join, ephemeral, transcript, response);
        } catch (err) {
          failure = asProtocolError(err);
        }
        const tokenOk =
          !enrolling || verifyTokenProof(this.opts.joinToken as string, transcript, response.tokenProof);
        if (stranger) failure = new UnknownNodeError(`node ${nodeId} is not on the allow-list`);
        else if (!tokenOk)
          failure = new BadTokenError(
            `node ${nodeId} is not on the allow-list and did not prove the join token`,
          );
        if (failure || !key) {
          key?.fill(0);
          throw failure ?? new NotAdmittedError();
        }
        stage = "done";
        clearTimeout(timer);
        pending = undefined;
        const s = this.createSession(socket, join, key);
        session = s;
        key.fill(0);
        this.admit(s, enrolling, remoteAddress);
      }),
    );

    socket.on("msg", (envelope: unknown, ack: unknown) => {
      let reply: ChunkAck;
      if (!session) {
        const e = new HandshakeError("sealed message before the handshake completed");
        refuse(e);
        reply = { ok: false, code: e.code, message: e.message };
      } else {
        reply = session.receive(envelope);
      }
      if (typeof ack === "function") ack(reply);
    });

    socket.on("disconnect", (reason) => {
      clearTimeout(timer);
      if (pending) pending.ephemeral.secretKey.fill(0);
      if (session) session.close({ kind: "transport", detail: reason });
    });
  }

  private createSession(
    socket: Socket<ClientToServerEvents, ServerToClientEvents>,
    join: JoinMessage,
    key: Uint8Array,
  ): ServerSession {
    const transport = socketTransport(socket);
    return new SecureSession({
      role: "coordinator",
      key,
      transport,
      nodeId: join.nodeId,
      peerKey: join.nodeId,
      capabilities: join.capabilities,
      limits: this.limits,
      peerLimits: join.receiveLimits,
      timing: this.timing,
      logger: this.logger,
    });
  }

  private admit(s: ServerSession, enrolled: boolean, remoteAddress: string): void {
    if (this.closing) {
      s.close("coordinator shutting down");
      return;
    }
    const old = this.live.get(s.nodeIdString);
    // A node that reconnects (it proved its key again) replaces its stale connection.
    if (old) old.close("replaced by a new connection from the same node");
    this.live.set(s.nodeIdString, s);
    s.on("close", () => {
      if (this.live.get(s.nodeIdString) === s) this.live.delete(s.nodeIdString);
    });
    // The operator's label from the allow-list, so a log reader need not match base64 keys by eye.
    const name = this.opts.allowList?.nameOf(s.nodeIdString);
    this.logger.info("node joined", {
      node: s.nodeIdString,
      ...(name ? { name } : {}),
      remote: remoteAddress,
      enrolled,
    });
    // Key confirmation: the first sealed message, sent before the application sees the session.
    s.send({ type: "ack", of: "join", roundId: null }).catch(() => {});
    for (const l of [...this.sessionListeners]) {
      try {
        l(s);
      } catch (err) {
        this.logger.error("session listener threw", { node: s.nodeIdString, error: String(err) });
      }
    }
  }
}
