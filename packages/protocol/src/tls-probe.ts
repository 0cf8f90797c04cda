/**
 * A plain ws:// connection to a coordinator that serves wss:// ends in "socket hang up", the same words
 * as any dropped connection. To tell the two apart a node asks the port directly: if a TLS handshake
 * completes there, the URL's scheme is wrong, and no retry will fix it. Certificates are not checked
 * by this probe (it only learns whether the port speaks TLS; nothing is sent over it).
 */
import { connect } from "node:tls";
import { TlsError } from "./errors.js";

/** Resolves true when `host:port` completes a TLS handshake within `timeoutMs`. */
export function speaksTls(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, rejectUnauthorized: false, servername: undefined });
    const done = (yes: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(yes);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("secureConnect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * For a node whose plain-text connection was reset: the TlsError to give up with if the coordinator's
 * port speaks TLS, else null (an ordinary network failure, worth retrying).
 */
export async function plainAgainstTls(url: string, timeoutMs?: number): Promise<TlsError | null> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== "http:" && u.protocol !== "ws:") return null;
  const port = u.port === "" ? 80 : Number(u.port);
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!(await speaksTls(host, port, timeoutMs))) return null;
  const secure = url.replace(/^http:/i, "https:").replace(/^ws:/i, "wss:");
  return new TlsError(
    `the coordinator at ${url} serves TLS: connect to ${secure} (with --ca FILE if its certificate is self-signed)`,
    { url, cause: "ECONNRESET" },
  );
}
