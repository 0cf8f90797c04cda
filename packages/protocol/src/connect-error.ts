/**
 * Turn socket.io-client's connect_error — always "websocket error", the cause buried in
 * `description` — into a typed error that names the cause. TLS failures become E_TLS (retrying cannot
 * fix a certificate the node does not trust); everything else stays E_CLOSED (the coordinator may be
 * restarting) but carries the operating system's code and words.
 */
import { ClosedError, type ProtocolError, TlsError } from "./errors.js";

export interface TransportCause {
  /** Node's error code: ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, ERR_TLS_CERT_ALTNAME_INVALID, EPROTO … */
  code?: string;
  message: string;
}

/** Node's codes for a certificate that does not verify (OpenSSL's X509 names and Node's ERR_TLS_*). */
const CERTIFICATE_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "CERT_SIGNATURE_FAILURE",
  "CERT_NOT_YET_VALID",
  "CERT_HAS_EXPIRED",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "INVALID_CA",
  "HOSTNAME_MISMATCH",
]);

/** What the transport said, digging through the ErrorEvent socket.io-client wraps it in. */
export function transportCause(err: unknown): TransportCause {
  const e = err as { message?: unknown; description?: unknown };
  const d = e?.description as { message?: unknown; code?: unknown; error?: unknown } | undefined;
  const inner = (d?.error ?? d) as { code?: unknown; message?: unknown } | undefined;
  const code =
    typeof inner?.code === "string" ? inner.code : typeof d?.code === "string" ? d.code : undefined;
  const message =
    typeof d?.message === "string" && d.message !== ""
      ? d.message
      : typeof inner?.message === "string"
        ? inner.message
        : typeof e?.message === "string"
          ? e.message
          : String(err);
  return code === undefined ? { message } : { code, message };
}

export function isCertificateFailure(cause: TransportCause): boolean {
  const c = cause.code ?? "";
  return CERTIFICATE_CODES.has(c) || c.startsWith("ERR_TLS_CERT") || c.startsWith("CERT_");
}

/** The error a node reports when it cannot open a connection to `url`. */
export function connectError(url: string, err: unknown): ProtocolError {
  const cause = transportCause(err);
  const said = cause.code ? `${firstLine(cause.message)} (${cause.code})` : firstLine(cause.message);
  const details = { url, ...(cause.code ? { cause: cause.code } : {}) };
  if (isCertificateFailure(cause))
    return new TlsError(
      `the certificate of the coordinator at ${url} is not trusted: ${said}; pass the coordinator's certificate or its CA's with --ca FILE, and connect by a name the certificate lists`,
      details,
    );
  const tlsUrl = /^(https|wss):/i.test(url);
  if (tlsUrl && (cause.code === "EPROTO" || /wrong version number/i.test(cause.message)))
    return new TlsError(
      `the coordinator at ${url} does not speak TLS (${said}); use ws:// or http://, or start the coordinator with --tls-cert/--tls-key`,
      details,
    );
  return new ClosedError(`cannot connect to coordinator at ${url}: ${said}`, details);
}

/** OpenSSL messages run to a source path; the first line is the useful part. */
function firstLine(s: string): string {
  const line = s.split("\n")[0] ?? s;
  const openssl = /^(.*?):error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):/.exec(line);
  return openssl ? `${openssl[1]}: ${openssl[2]}` : line;
}
