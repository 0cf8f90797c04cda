/**
 * Every failure the protocol can report is a ProtocolError with a stable `code`. Subclasses exist so
 * callers can `instanceof`-check, and `toJSON()` gives the `{code, message}` shape the CLI and the wire
 * error message use. `fatal` says whether the session that produced it must be torn down (anything that
 * touches authentication or ordering) or whether only the one message is rejected.
 */
export const ERROR_CODES = [
  "E_VERSION",
  "E_UNKNOWN_NODE",
  "E_UNKNOWN_COORDINATOR",
  "E_BAD_SIGNATURE",
  "E_BAD_TOKEN",
  "E_NOT_ADMITTED",
  "E_DECRYPT",
  "E_REPLAY",
  "E_DECODE",
  "E_SCHEMA",
  "E_UNEXPECTED",
  "E_TOO_LARGE",
  "E_CHUNK",
  "E_TIMEOUT",
  "E_HANDSHAKE",
  "E_CLOSED",
  "E_KEY_FILE",
  "E_ALLOW_LIST",
  "E_TLS",
  "E_REMOTE",
] as const;

export type ProtocolErrorCode = (typeof ERROR_CODES)[number];

export interface ProtocolErrorJSON {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ProtocolErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
    this.details = details;
  }

  toJSON(): ProtocolErrorJSON {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

type Details = Record<string, unknown>;

/** Protocol version of a peer differs from ours. */
export class VersionError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_VERSION", message, details);
    this.name = "VersionError";
  }
}
/** A node whose public key is not on the allow-list (and open enrolment is off). */
export class UnknownNodeError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_UNKNOWN_NODE", message, details);
    this.name = "UnknownNodeError";
  }
}
/** The coordinator presented a key other than the pinned one. */
export class UnknownCoordinatorError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_UNKNOWN_COORDINATOR", message, details);
    this.name = "UnknownCoordinatorError";
  }
}
export class BadSignatureError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_BAD_SIGNATURE", message, details);
    this.name = "BadSignatureError";
  }
}
/**
 * What a refused peer is told when its key is unknown, its handshake signature wrong, or its join
 * token wrong — the same words for all three, so nobody can probe which keys are allow-listed.
 * (The coordinator's own log keeps the precise reason.)
 */
export class NotAdmittedError extends ProtocolError {
  constructor(_message?: string, details?: Details) {
    super(
      "E_NOT_ADMITTED",
      "not admitted: this node's key is not allowed, its handshake signature is wrong, or its join token is wrong (the coordinator does not say which; its operator's log does)",
      details,
    );
    this.name = "NotAdmittedError";
  }
}
export class BadTokenError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_BAD_TOKEN", message, details);
    this.name = "BadTokenError";
  }
}
/** An envelope failed authentication: tampered, wrong session key, or cross-session. */
export class DecryptError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_DECRYPT", message, details);
    this.name = "DecryptError";
  }
}
/** An envelope counter that is not strictly increasing: replayed, reordered or reflected. */
export class ReplayError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_REPLAY", message, details);
    this.name = "ReplayError";
  }
}
export class DecodeError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_DECODE", message, details);
    this.name = "DecodeError";
  }
}
export class SchemaError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_SCHEMA", message, details);
    this.name = "SchemaError";
  }
}
/** A well-formed message that is not acceptable now (update for a round never assigned, ...). */
export class UnexpectedMessageError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_UNEXPECTED", message, details);
    this.name = "UnexpectedMessageError";
  }
}
export class TooLargeError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_TOO_LARGE", message, details);
    this.name = "TooLargeError";
  }
}
export class ChunkError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_CHUNK", message, details);
    this.name = "ChunkError";
  }
}
export class TimeoutError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_TIMEOUT", message, details);
    this.name = "TimeoutError";
  }
}
export class HandshakeError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_HANDSHAKE", message, details);
    this.name = "HandshakeError";
  }
}
export class ClosedError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_CLOSED", message, details);
    this.name = "ClosedError";
  }
}
export class KeyFileError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_KEY_FILE", message, details);
    this.name = "KeyFileError";
  }
}
export class AllowListError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_ALLOW_LIST", message, details);
    this.name = "AllowListError";
  }
}

/**
 * The TLS layer refused the connection: the coordinator's certificate does not verify against the
 * trusted CAs (or `--ca`), names another host, or one side speaks TLS and the other does not. Retrying
 * cannot fix it, so a node gives up at once and says why.
 */
export class TlsError extends ProtocolError {
  constructor(message: string, details?: Details) {
    super("E_TLS", message, details);
    this.name = "TlsError";
  }
}

const CONSTRUCTORS: Record<ProtocolErrorCode, new (m: string, d?: Details) => ProtocolError> = {
  E_VERSION: VersionError,
  E_UNKNOWN_NODE: UnknownNodeError,
  E_UNKNOWN_COORDINATOR: UnknownCoordinatorError,
  E_BAD_SIGNATURE: BadSignatureError,
  E_BAD_TOKEN: BadTokenError,
  E_NOT_ADMITTED: NotAdmittedError,
  E_DECRYPT: DecryptError,
  E_REPLAY: ReplayError,
  E_DECODE: DecodeError,
  E_SCHEMA: SchemaError,
  E_UNEXPECTED: UnexpectedMessageError,
  E_TOO_LARGE: TooLargeError,
  E_CHUNK: ChunkError,
  E_TIMEOUT: TimeoutError,
  E_HANDSHAKE: HandshakeError,
  E_CLOSED: ClosedError,
  E_KEY_FILE: KeyFileError,
  E_ALLOW_LIST: AllowListError,
  E_TLS: TlsError,
  E_REMOTE: class RemoteError extends ProtocolError {
    constructor(m: string, d?: Details) {
      super("E_REMOTE", m, d);
      this.name = "RemoteError";
    }
  },
};

export function isProtocolErrorCode(code: unknown): code is ProtocolErrorCode {
  return typeof code === "string" && (ERROR_CODES as readonly string[]).includes(code);
}

/**
 * Rebuild a typed error from a code the peer reported (error message, refusal, chunk ack). Unknown codes
 * become E_REMOTE with the peer's code in `details.remoteCode`, so nothing the peer says can make us
 * throw an arbitrary class.
 */
export function errorFromCode(code: string, message: string, details?: Details): ProtocolError {
  if (isProtocolErrorCode(code)) return new CONSTRUCTORS[code](message, details);
  return new ProtocolError("E_REMOTE", message, { ...details, remoteCode: code });
}

/** Errors that mean the session can no longer be trusted (or its counters are out of step). */
const FATAL: ReadonlySet<ProtocolErrorCode> = new Set([
  "E_VERSION",
  "E_UNKNOWN_NODE",
  "E_UNKNOWN_COORDINATOR",
  "E_BAD_TOKEN",
  "E_NOT_ADMITTED",
  "E_DECRYPT",
  "E_REPLAY",
  "E_HANDSHAKE",
  "E_CLOSED",
]);

export function isFatal(err: ProtocolError): boolean {
  return FATAL.has(err.code);
}

/** Anything thrown inside the protocol becomes a ProtocolError; unknown throws are decode failures. */
export function asProtocolError(err: unknown, fallback: ProtocolErrorCode = "E_DECODE"): ProtocolError {
  if (err instanceof ProtocolError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new CONSTRUCTORS[fallback](msg);
}
