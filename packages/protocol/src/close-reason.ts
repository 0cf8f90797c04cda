/**
 * Why a session closed, as data: listeners switch on `kind` instead of parsing text. The four kinds
 * are what callers act on differently — a node ends its run after the coordinator's `bye`, reports a
 * protocol error, reconnects after a dropped connection, and does nothing after its own close.
 */
import type { ProtocolError } from "./errors.js";

export type CloseReason =
  /** An orderly end: a `bye` was sent by this end (`self`) or received from the peer (`peer`). */
  | { kind: "bye"; by: "self" | "peer"; reason: string }
  /** A protocol error ended the session: a fatal rejection, or a failure during the handshake. */
  | { kind: "error"; error: ProtocolError }
  /** The connection went away under the session (`detail`: the transport's own words). */
  | { kind: "transport"; detail: string }
  /** This process closed it: shutting down, replaced by the node's newer connection, stopping. */
  | { kind: "local"; reason: string };

/** One line for logs and error messages (the wording the session used before reasons were typed). */
export function describeCloseReason(r: CloseReason): string {
  switch (r.kind) {
    case "bye":
      return r.by === "peer" ? `peer said bye: ${r.reason}` : `bye: ${r.reason}`;
    case "error":
      return `protocol error ${r.error.code}: ${r.error.message}`;
    case "transport":
      return `transport: ${r.detail}`;
    case "local":
      return r.reason;
  }
}
