/**
 * The node's end: connect to the coordinator, check its key against the pinned one, run the handshake,
 * and return an authenticated ClientSession. No automatic reconnection: a new connection is a new
 * handshake with new ephemeral keys, which the caller starts by calling connect() again.
 */

import { io, type Socket } from "socket.io-client";
import { asBytes } from "./bytes.js";
import { resolveLimits, resolveTiming, socketTransport } from "./channel-common.js";
import { describeCloseReason } from "./close-reason.js";
import { decodeHandshake, encodeMessage } from "./codec.js";
import { connectError } from "./connect-error.js";
import {
  asProtocolError,
  ClosedError,
  errorFromCode,
  HandshakeError,
  type ProtocolError,
  TimeoutError,
} from "./errors.js";
import type { ChunkAck, ClientToServerEvents, ServerToClientEvents } from "./events.js";
import { answerChallenge, createJoin } from "./handshake.js";
import { tokenProof } from "./identity.js";
import { type Logger, stderrLogger } from "./logger.js";
import type { Capabilities, CoordinatorMessage, Limits, ReceiveLimits } from "./messages.js";
import type { NodeIdentity } from "./node-signer.js";
import { type ClientSession, SecureSession } from "./session.js";
import type { Timing } from "./transfer/transport.js";

export interface ClientChannelOptions {
  /** e.g. "http://coordinator.example:7311" */
  url: string;
  /** The node's long-term identity (its public key is its node id): a key file's, or a signer. */
  identity: NodeIdentity;
  /** The coordinator's public key, obtained out of band. A coordinator presenting another key is refused. */
  coordinatorKey: Uint8Array;
  capabilities: Capabilities;
  /** Only for open enrolment: proves knowledge of the token without sending it. */
  joinToken?: string;
  limits?: Partial<Limits>;
  timing?: Partial<Timing>;
  logger?: Logger;
  /** For wss:// with a private CA or a self-signed coordinator certificate: the PEM to trust. */
  ca?: string;
}

export const ClientChannel = {
  /** Connect and handshake; resolves with an authenticated session, rejects with a ProtocolError. */
  connect(opts: ClientChannelOptions): Promise<ClientSession> {
    const limits = resolveLimits(opts.limits);
    const timing = resolveTiming(opts.timing);
    const logger = opts.logger ?? stderrLogger;
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(opts.url, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
      timeout: timing.handshakeTimeoutMs,
      ...(opts.ca ? { ca: opts.ca } : {}),
    });

    return new Promise<ClientSession>((resolve, reject) => {
      let settled = false;
      let session: ClientSession | undefined;
      let ephemeral: ReturnType<typeof createJoin>["ephemeral"] | undefined;
      let join: ReturnType<typeof createJoin>["join"] | undefined;
      let answering = false;

      const fail = (err: ProtocolError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (ephemeral) ephemeral.secretKey.fill(0);
        if (session) session.close({ kind: "error", error: err });
        socket.disconnect();
        reject(err);
      };
      const timer = setTimeout(
        () =>
          fail(
            new TimeoutError(
              `handshake with ${opts.url} not completed within ${timing.handshakeTimeoutMs} ms`,
            ),
          ),
        timing.handshakeTimeoutMs,
      );

      socket.on("connect_error", (err) => fail(connectError(opts.url, err)));

      socket.on("connect", () => {
        try {
          const j = createJoin(opts.identity, opts.capabilities, limits);
          ephemeral = j.ephemeral;
          join = j.join;
          socket.emit("join", encodeMessage(j.join));
        } catch (err) {
          fail(asProtocolError(err));
        }
      });

      socket.on("refused", (payload: unknown) => {
        // Unauthenticated (anyone on the path could forge it); it only explains a failure we get anyway.
        try {
          const r = decodeHandshake(asBytes(payload) ?? (payload as Uint8Array), limits);
          if (r.type === "refused") fail(errorFromCode(r.code, `coordinator refused: ${r.message}`));
          else fail(new HandshakeError(`coordinator sent ${r.type} instead of a refusal`));
        } catch (err) {
          fail(asProtocolError(err));
        }
      });

      socket.on("challenge", async (payload: unknown) => {
        try {
          if (session || answering || !ephemeral || !join)
            throw new HandshakeError("unexpected second challenge");
          answering = true;
          const bytes = asBytes(payload);
          if (!bytes) throw new HandshakeError("challenge payload is not binary");
          const challenge = decodeHandshake(bytes, limits);
          if (challenge.type !== "challenge")
            throw new HandshakeError(`expected challenge, got ${challenge.type}`);
          const token = opts.joinToken;
          // The node's signer may be asynchronous (a browser's Web Crypto key): nothing else is sent
          // until it answers, and a failure while it signs fails the connection as any other.
          const { response, key } = await answerChallenge(
            opts.identity,
            ephemeral,
            opts.coordinatorKey,
            join,
            challenge,
            token === undefined ? undefined : (t) => tokenProof(token, t),
          );
          if (settled) {
            key.fill(0);
            return;
          }
          session = createSession({
            socket,
            opts,
            key,
            limits,
            peerLimits: challenge.receiveLimits,
            timing,
            logger,
          });
          key.fill(0);
          const s = session;
          // The coordinator's first sealed message is ack{of:"join"}: proof it derived the same key.
          const onFirst = (m: CoordinatorMessage) => {
            s.off("message", onFirst);
            if (m.type === "ack" && m.of === "join") {
              if (settled) return;
              settled = true;
              clearTimeout(timer);
              resolve(s);
            } else fail(new HandshakeError(`expected the coordinator's join acknowledgement, got ${m.type}`));
          };
          s.on("message", onFirst);
          s.on("close", (reason) =>
            fail(
              reason.kind === "error"
                ? reason.error
                : new ClosedError(`session closed during handshake: ${describeCloseReason(reason)}`),
            ),
          );
          socket.emit("response", encodeMessage(response));
        } catch (err) {
          fail(asProtocolError(err));
        }
      });

      socket.on("msg", (envelope: unknown, ack: unknown) => {
        const reply: ChunkAck = session
          ? session.receive(envelope)
          : { ok: false, code: "E_HANDSHAKE", message: "sealed message before the handshake" };
        if (typeof ack === "function") ack(reply);
      });

      socket.on("disconnect", (reason) => {
        if (session) session.close({ kind: "transport", detail: reason });
        fail(new ClosedError(`coordinator closed the connection during the handshake (${reason})`));
      });
    });
  },
};

/** What the node's side of a session is built from once the handshake has derived its key. */
interface NodeSessionParts {
  socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  opts: ClientChannelOptions;
  key: Uint8Array;
  limits: Limits;
  /** What the coordinator said it accepts (from its challenge). */
  peerLimits: ReceiveLimits;
  timing: Timing;
  logger: Logger;
}

function createSession(parts: NodeSessionParts): ClientSession {
  const { socket, opts, key, limits, peerLimits, timing, logger } = parts;
  const transport = socketTransport(socket);
  return new SecureSession({
    role: "node",
    key,
    transport,
    nodeId: opts.identity.publicKey,
    peerKey: opts.coordinatorKey,
    identity: opts.identity,
    capabilities: opts.capabilities,
    limits,
    peerLimits,
    timing,
    logger,
  });
}
