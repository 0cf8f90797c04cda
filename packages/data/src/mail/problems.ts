/**
 * Everything that can go wrong while decoding one message. Decoding never throws: each problem is
 * recorded (per message and in corpus-wide counters) and the decoder carries on with a best effort.
 */
export type DecodeProblem =
  | "no-headers" // first line is not a header: whole message treated as body
  | "no-header-end" // no blank line after the headers: body is empty
  | "bad-content-type" // unparsable Content-Type, treated as text/plain
  | "missing-boundary" // multipart without boundary parameter (guessed from the body if possible)
  | "boundary-not-found" // boundary never occurs in the body: body treated as text/plain
  | "unterminated-multipart" // no closing --boundary-- delimiter
  | "depth-limit" // nested multiparts deeper than the limit were skipped
  | "bad-base64" // characters outside the base64 alphabet (ignored)
  | "bad-quoted-printable" // '=' not followed by two hex digits or a line break (kept literally)
  | "undeclared-quoted-printable" // QP content declared 7bit/8bit or undeclared: decoded as QP
  | "unknown-transfer-encoding" // e.g. x-uuencode: content used as-is
  | "unknown-charset" // charset not supported by this runtime: decoded as windows-1252
  | "invalid-utf8" // declared UTF-8 but bytes are not: decoded as windows-1252
  | "bad-encoded-word" // =?charset?X?...?= with unknown encoding X
  | "binary-content" // a text part decoded to mostly control characters (dropped)
  | "html-in-plain" // text/plain (or untyped) part that is really HTML: converted
  | "raw-bytes-unavailable" // corpus text had U+FFFD and the original bytes could not be read
  | "empty-body" // no text left after decoding and cleaning
  | "exception"; // a bug-class failure was caught; crude fallback used

export class ProblemLog {
  readonly list: DecodeProblem[] = [];
  add(p: DecodeProblem): void {
    if (!this.list.includes(p)) this.list.push(p);
  }
}
