/**
 * The live dashboard: a read-only HTTP server over a RunMonitor, on node:http with no framework.
 *
 *   GET /             the page (static HTML + ES module + CSS from packages/ops/static, no build step)
 *   GET /static/*     those assets; /vendor/* uPlot from node_modules
 *   GET /api/state    the snapshot as JSON
 *   GET /api/events   Server-Sent Events: the snapshot now, then after every change (coalesced)
 *   GET /metrics      Prometheus exposition text
 *   GET /healthz      liveness ("ok")
 *
 * It serves a fixed set of files read at start (no path ever reaches the file system) and the
 * monitor's snapshot — never keys, weights or data. It has no authentication: bind it to
 * 127.0.0.1 or keep the port on a private network.
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo, Socket } from "node:net";
import { fileURLToPath } from "node:url";
import type { RunMonitor } from "../monitor.js";

export interface DashboardOptions {
  monitor: RunMonitor;
  host: string;
  /** 0 picks a free port (read it back from `port`/`url`). */
  port: number;
  /** SSE coalescing window: bursts of changes (bytes counters) become one push per window. */
  sseIntervalMs?: number;
  /** SSE keep-alive comment interval (proxies drop idle streams). */
  heartbeatMs?: number;
  /** Told about request handling errors; the server keeps running either way. */
  onError?: (err: Error) => void;
  /**
   * Require this token on every request except /healthz (header `Authorization: Bearer T`, or
   * `?token=T`, which also sets an HttpOnly cookie so the page's own requests carry it). Required
   * when the dashboard binds to anything but loopback: it shows which nodes took part in each round.
   */
  token?: string;
  /**
   * More pages on the same port (e.g. the browser node under /node/), resolved per request: `host`
   * is the Host the browser used. A `public` page needs no token (it must carry nothing private);
   * its own `headers` (e.g. a Content-Security-Policy) replace the dashboard's defaults.
   */
  pages?: (path: string, request: { host: string }) => PageAsset | undefined;
}

export interface PageAsset {
  type: string;
  body: Uint8Array;
  headers?: Record<string, string>;
  public?: boolean;
  /** Answer with a 308 redirect here instead of a body. */
  redirect?: string;
}

/** Whether `host` only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

export class DashboardSecurityError extends Error {
  readonly code = "E_USAGE";
  constructor(message: string) {
    super(message);
    this.name = "DashboardSecurityError";
  }
}

export interface Dashboard {
  readonly host: string;
  readonly port: number;
  /** http://host:port/ (IPv6 hosts bracketed; 0.0.0.0 shown as 127.0.0.1 for convenience). */
  readonly url: string;
  /** Connected SSE clients (for tests and diagnostics). */
  readonly sseClients: number;
  close(): Promise<void>;
}

interface Asset {
  type: string;
  body: Buffer;
}

const STATIC_DIR = fileURLToPath(new URL("../../static/", import.meta.url));

function loadAssets(): Map<string, Asset> {
  const require = createRequire(import.meta.url);
  const uplotJs = require.resolve("uplot/dist/uPlot.esm.js");
  const uplotCss = require.resolve("uplot/dist/uPlot.min.css");
  const js = "text/javascript; charset=utf-8";
  const css = "text/css; charset=utf-8";
  const files: [string, string, string][] = [
    ["/", `${STATIC_DIR}index.html`, "text/html; charset=utf-8"],
    ["/static/app.js", `${STATIC_DIR}app.js`, js],
    ["/static/charts.js", `${STATIC_DIR}charts.js`, js],
    ["/static/style.css", `${STATIC_DIR}style.css`, css],
    ["/vendor/uPlot.esm.js", uplotJs, js],
    ["/vendor/uPlot.min.css", uplotCss, css],
  ];
  return new Map(files.map(([route, path, type]) => [route, { type, body: readFileSync(path) }]));
}

const SECURITY_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

const ROUTES = new Set(["/api/state", "/api/events", "/metrics", "/healthz", "/index.html"]);

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { monitor } = options;
  if (!isLoopbackHost(options.host) && !options.token)
    throw new DashboardSecurityError(
      `the dashboard binds to ${options.host}, beyond this machine: give it a --dashboard-token (it shows which nodes took part in each round)`,
    );
  if (options.token !== undefined && options.token.length < 16)
    throw new DashboardSecurityError("--dashboard-token must be at least 16 characters");
  const tokenHash = options.token === undefined ? null : createHash("sha256").update(options.token).digest();
  const sseIntervalMs = options.sseIntervalMs ?? 100;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const assets = loadAssets();
  const streams = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  const report = (err: unknown) => options.onError?.(err instanceof Error ? err : new Error(String(err)));

  // One coalescing timer for all SSE clients: a change schedules a push at most every sseIntervalMs,
  // and the push always carries the latest snapshot, so the last change is never lost.
  let pending: NodeJS.Timeout | null = null;
  let lastPush = 0;
  const push = () => {
    pending = null;
    lastPush = Date.now();
    if (streams.size === 0) return;
    const frame = `id: ${monitor.version}\ndata: ${JSON.stringify(monitor.snapshot())}\n\n`;
    for (const res of streams) write(res, frame);
  };
  const unsubscribe = monitor.subscribe(() => {
    if (pending || streams.size === 0) return;
    pending = setTimeout(push, Math.max(0, lastPush + sseIntervalMs - Date.now()));
  });
  const heartbeat = setInterval(() => {
    for (const res of streams) write(res, ": keep-alive\n\n");
  }, heartbeatMs);
  heartbeat.unref();

  function write(res: ServerResponse, chunk: string): void {
    if (res.writableEnded || res.destroyed) {
      streams.delete(res);
      return;
    }
    try {
      res.write(chunk);
    } catch (err) {
      streams.delete(res);
      report(err);
    }
  }

  function send(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    type: string,
    body: string | Uint8Array,
    extra: Record<string, string> = {},
  ): void {
    const buf = typeof body === "string" ? Buffer.from(body) : body;
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      "Content-Type": type,
      "Content-Length": String(buf.length),
      "Cache-Control": "no-store",
      ...extra,
    });
    res.end(req.method === "HEAD" ? undefined : buf);
  }

  /** The token a request presents (header, query or cookie), compared in constant time. */
  function authorised(req: IncomingMessage, url: URL): { ok: boolean; fromQuery: boolean } {
    if (!tokenHash) return { ok: true, fromQuery: false };
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const cookie = /(?:^|;\s*)memarc_token=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
    const query = url.searchParams.get("token");
    const given = bearer ?? query ?? (cookie ? decodeURIComponent(cookie) : undefined);
    if (given === undefined) return { ok: false, fromQuery: false };
    const h = createHash("sha256").update(given).digest();
    return { ok: timingSafeEqual(h, tokenHash), fromQuery: bearer === undefined && query !== null };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let path: string;
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://dashboard");
      path = url.pathname;
    } catch {
      send(req, res, 400, "text/plain; charset=utf-8", "bad request\n");
      return;
    }
    const page = options.pages?.(path, { host: req.headers.host ?? "" });
    if (path !== "/healthz" && !page?.public) {
      const auth = authorised(req, url);
      if (!auth.ok) {
        send(
          req,
          res,
          401,
          "text/plain; charset=utf-8",
          "this dashboard needs its token (?token=… or Authorization: Bearer …)\n",
          {
            "WWW-Authenticate": "Bearer",
          },
        );
        return;
      }
      if (auth.fromQuery)
        res.setHeader(
          "Set-Cookie",
          `memarc_token=${encodeURIComponent(url.searchParams.get("token")!)}; HttpOnly; SameSite=Strict; Path=/`,
        );
    }
    const asset = assets.get(path === "/index.html" ? "/" : path) ?? page;
    if (!asset && !ROUTES.has(path)) {
      send(req, res, 404, "text/plain; charset=utf-8", "not found\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(req, res, 405, "text/plain; charset=utf-8", "method not allowed\n", { Allow: "GET, HEAD" });
      return;
    }
    if (page?.redirect) {
      send(req, res, 308, "text/plain; charset=utf-8", `see ${page.redirect}\n`, { Location: page.redirect });
      return;
    }
    if (asset) {
      send(req, res, 200, asset.type, asset.body, page?.headers ?? {});
      return;
    }
    switch (path) {
      case "/healthz":
        send(req, res, 200, "text/plain; charset=utf-8", "ok\n");
        return;
      case "/api/state":
        send(req, res, 200, "application/json; charset=utf-8", JSON.stringify(monitor.snapshot()));
        return;
      case "/metrics":
        send(req, res, 200, monitor.metrics.contentType, await monitor.metrics.text());
        return;
      case "/api/events":
        openStream(req, res);
        return;
    }
  }

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    res.socket?.setNoDelay(true);
    streams.add(res);
    const drop = () => streams.delete(res);
    req.on("close", drop);
    res.on("close", drop);
    write(res, `retry: 2000\nid: ${monitor.version}\ndata: ${JSON.stringify(monitor.snapshot())}\n\n`);
  }

  const server = createServer((req, res) => {
    // A client that vanishes mid-response raises errors on both objects; they end that exchange only.
    req.on("error", report);
    res.on("error", report);
    handle(req, res).catch((err) => {
      report(err);
      if (!res.headersSent) send(req, res, 500, "text/plain; charset=utf-8", "internal error\n");
      else res.destroy();
    });
  });
  // Slow or silent clients cannot hold sockets forever (SSE streams stay active via heartbeats).
  server.headersTimeout = 10_000;
  server.requestTimeout = 20_000;
  server.setTimeout(Math.max(60_000, 3 * heartbeatMs), (sock) => sock.destroy());
  server.on("clientError", (err, socket) => {
    report(err);
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", report);

  const addr = server.address() as AddressInfo;
  const shownHost = addr.address === "0.0.0.0" ? "127.0.0.1" : addr.address === "::" ? "::1" : addr.address;
  const url = `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${addr.port}/`;
  let closed: Promise<void> | null = null;

  return {
    host: addr.address,
    port: addr.port,
    url,
    get sseClients() {
      return streams.size;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        unsubscribe();
        clearInterval(heartbeat);
        if (pending) clearTimeout(pending);
        for (const res of streams) res.end();
        streams.clear();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
  };
}
