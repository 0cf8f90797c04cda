/**
 * The socket.io event maps, shared by both ends (`Server<ClientToServerEvents, ServerToClientEvents>` and
 * `Socket<ServerToClientEvents, ClientToServerEvents>`). Handshake payloads are msgpack bytes; after the
 * handshake the only event is `msg`, whose payload is always a sealed envelope.
 */

/**
 * Per-envelope acknowledgement (socket.io ack callback). Not authenticated — it only drives resends and
 * early failure; authoritative rejections arrive as sealed `error` messages.
 */
export type ChunkAck = { ok: true } | { ok: false; code: string; message: string };

export interface ClientToServerEvents {
  /** msgpack JoinMessage. */
  join: (payload: Uint8Array) => void;
  /** msgpack ResponseMessage. */
  response: (payload: Uint8Array) => void;
  /** A sealed envelope carrying one chunk of a node message. */
  msg: (envelope: Uint8Array, ack: (reply: ChunkAck) => void) => void;
}

export interface ServerToClientEvents {
  /** msgpack ChallengeMessage. */
  challenge: (payload: Uint8Array) => void;
  /** msgpack RefusalMessage, sent just before the coordinator disconnects a failed handshake. */
  refused: (payload: Uint8Array) => void;
  /** A sealed envelope carrying one chunk of a coordinator message. */
  msg: (envelope: Uint8Array, ack: (reply: ChunkAck) => void) => void;
}

/** Validate an ack coming back from the peer (it is untrusted input like everything else). */
export function parseChunkAck(v: unknown): ChunkAck {
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (o.ok === true) return { ok: true };
    if (o.ok === false && typeof o.code === "string" && typeof o.message === "string")
      return { ok: false, code: o.code.slice(0, 64), message: o.message.slice(0, 1024) };
  }
  return { ok: false, code: "E_DECODE", message: "malformed acknowledgement from peer" };
}
