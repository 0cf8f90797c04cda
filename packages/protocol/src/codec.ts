/**
 * msgpackr encoding. `moreTypes` makes typed arrays round-trip as their own type (Float32Array comes
 * back as an aligned Float32Array, not an unaligned Buffer view); records are off so every message is
 * self-describing plain msgpack with no state shared between messages.
 */
import { Packr } from "msgpackr";
import { DecodeError, TooLargeError } from "./errors.js";
import { type ValidateOptions, validateHandshakeMessage, validateSessionMessage } from "./message-schemas.js";
import type {
  CoordinatorMessage,
  HandshakeMessage,
  Limits,
  NodeMessage,
  Role,
  SessionMessage,
} from "./messages.js";

const OPTIONS = { moreTypes: true, useRecords: false, mapsAsObjects: true } as const;

const packr = new Packr(OPTIONS);
const unpackr = new Packr(OPTIONS);

/**
 * Encode into msgpackr's reusable buffer. The result is only valid until the next encode on this
 * thread; the session copies it into chunk frames straight away, which saves a full copy of big updates.
 */
export function encodeTransient(msg: SessionMessage | HandshakeMessage): Uint8Array {
  return packr.pack(msg);
}

/** Encode into a buffer the caller owns. */
export function encodeMessage(msg: SessionMessage | HandshakeMessage): Uint8Array {
  return Uint8Array.prototype.slice.call(packr.pack(msg)) as Uint8Array;
}

/** Decode msgpack bytes to an unvalidated value; any malformation (or trailing bytes) is E_DECODE. */
export function decodeRaw(bytes: Uint8Array, maxBytes: number): unknown {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError("payload is not binary");
  if (bytes.length > maxBytes)
    throw new TooLargeError(`payload of ${bytes.length} bytes exceeds ${maxBytes}`);
  if (bytes.length === 0) throw new DecodeError("empty payload");
  try {
    return unpackr.unpack(bytes);
  } catch (err) {
    throw new DecodeError(`malformed msgpack: ${(err as Error).message}`.slice(0, 300));
  }
}

/** Decode and validate a handshake message (join / challenge / response / refused). */
export function decodeHandshake(bytes: Uint8Array, limits: Limits): HandshakeMessage {
  return validateHandshakeMessage(decodeRaw(bytes, HANDSHAKE_MAX_BYTES), limits);
}

/** Handshake messages are a few hundred bytes; anything bigger is refused before decoding. */
export const HANDSHAKE_MAX_BYTES = 8192;

/** Decode and validate a session message sent by `sender`. */
export function decodeSessionMessage(
  sender: "coordinator",
  bytes: Uint8Array,
  opts: ValidateOptions,
): CoordinatorMessage;
export function decodeSessionMessage(sender: "node", bytes: Uint8Array, opts: ValidateOptions): NodeMessage;
export function decodeSessionMessage(
  sender: Role,
  bytes: Uint8Array,
  opts: ValidateOptions,
): CoordinatorMessage | NodeMessage;
export function decodeSessionMessage(
  sender: Role,
  bytes: Uint8Array,
  opts: ValidateOptions,
): CoordinatorMessage | NodeMessage {
  return validateSessionMessage(sender, decodeRaw(bytes, opts.limits.maxMessageBytes), opts);
}
