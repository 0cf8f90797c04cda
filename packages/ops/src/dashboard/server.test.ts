import assert from "node:assert/strict";
import { request } from "node:http";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { RunMonitor, type RunSnapshot } from "../monitor.js";
import { type Dashboard, startDashboard } from "./server.js";

const settings = {
  scheme: "side",
  roundsPlanned: 3,
  privacyUnit: "example" as const,
  budget: { epsilon: 8, delta: 1e-5 },
  // What a careless caller might pass along: must never be served.
  joinToken: "JOIN-TOKEN-never-served",
};

function raw(
  d: Dashboard,
  method: string,
  path: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: d.port, method, path }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Read SSE frames from /api/events until `until` accepts one; returns the frames seen. */
async function readEvents(d: Dashboard, until: (s: RunSnapshot) => boolean, timeoutMs = 5000) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const res = await fetch(`${d.url}api/events`, { signal: ac.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const frames: RunSnapshot[] = [];
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i = buf.indexOf("\n\n");
      while (i >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = frame
          .split("\n")
          .filter((l) => l.startsWith("data: "))
          .map((l) => l.slice(6))
          .join("\n");
        if (data) {
          const s = JSON.parse(data) as RunSnapshot;
          frames.push(s);
          if (until(s)) return frames;
        }
        i = buf.indexOf("\n\n");
      }
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  throw new Error(`stream ended before the expected snapshot; saw seq ${frames.map((f) => f.seq)}`);
}

describe("dashboard server (real HTTP on 127.0.0.1)", () => {
  let monitor: RunMonitor;
  let d: Dashboard;
  const errors: Error[] = [];

  before(async () => {
    monitor = new RunMonitor(settings);
    d = await startDashboard({
      monitor,
      host: "127.0.0.1",
      port: 0,
      sseIntervalMs: 20,
      onError: (e) => errors.push(e),
    });
  });
  after(async () => {
    await d.close();
  });

  it("listens on a free port and answers /healthz", async () => {
    assert.ok(d.port > 0);
    assert.equal(d.url, `http://127.0.0.1:${d.port}/`);
    const r = await raw(d, "GET", "/healthz");
    assert.equal(r.status, 200);
    assert.equal(r.body, "ok\n");
  });

  it("serves the page, its module, styles and uPlot with correct types and a strict CSP", async () => {
    const page = await raw(d, "GET", "/");
    assert.equal(page.status, 200);
    assert.match(String(page.headers["content-type"]), /^text\/html/);
    assert.match(String(page.headers["content-security-policy"]), /script-src 'self'/);
    assert.equal(page.headers["x-content-type-options"], "nosniff");
    for (const testid of ["rounds-completed", "epsilon", "epsilon-budget", "connected", "phase"])
      assert.ok(page.body.includes(`data-testid="${testid}"`), testid);
    for (const [path, type] of [
      ["/static/app.js", /^text\/javascript/],
      ["/static/charts.js", /^text\/javascript/],
      ["/static/style.css", /^text\/css/],
      ["/vendor/uPlot.esm.js", /^text\/javascript/],
      ["/vendor/uPlot.min.css", /^text\/css/],
    ] as const) {
      const r = await raw(d, "GET", path);
      assert.equal(r.status, 200, path);
      assert.match(String(r.headers["content-type"]), type, path);
      assert.ok(r.body.length > 100, path);
    }
    assert.match(
      (await raw(d, "GET", "/vendor/uPlot.esm.js")).body,
      /export \{ uPlot as default \}|export default/,
    );
    const head = await raw(d, "HEAD", "/");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
  });

  it("returns the snapshot at /api/state, without anything the caller did not allow-list", async () => {
    monitor.nodeConnected("node-1");
    const r = await raw(d, "GET", "/api/state?x=1");
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /^application\/json/);
    assert.equal(r.headers["cache-control"], "no-store");
    const s = JSON.parse(r.body) as RunSnapshot;
    assert.deepEqual(s, monitor.snapshot());
    assert.deepEqual(s.connectedNodes, ["node-1"]);
    assert.ok(!r.body.includes("JOIN-TOKEN"));
  });

  it("serves Prometheus text at /metrics", async () => {
    monitor.bytesIn(4242);
    const r = await raw(d, "GET", "/metrics");
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    assert.match(r.body, /^memarc_received_bytes_total 4242$/m);
    assert.match(r.body, /^memarc_nodes_connected 1$/m);
    assert.match(r.body, /^memarc_epsilon_budget 8$/m);
    assert.match(r.body, /^memarc_current_round 0$/m);
    // The process's own default metrics come from the same registry.
    assert.match(r.body, /^process_resident_memory_bytes \d+/m);
    assert.match(r.body, /^nodejs_heap_size_used_bytes \d+/m);
  });

  it("404s unknown paths (including traversal attempts) and 405s other methods", async () => {
    for (const p of [
      "/nope",
      "/static/../package.json",
      "/static/%2e%2e/src/index.ts",
      "/vendor/uPlot.cjs.js",
      "/api",
    ]) {
      assert.equal((await raw(d, "GET", p)).status, 404, p);
    }
    for (const m of ["POST", "PUT", "DELETE", "PATCH"]) {
      const r = await raw(d, m, "/api/state");
      assert.equal(r.status, 405, m);
      assert.equal(r.headers.allow, "GET, HEAD");
    }
    assert.equal((await raw(d, "POST", "/nope")).status, 404);
  });

  it("streams the snapshot over SSE: the current one at once, then after changes", async () => {
    const start = monitor.version;
    const seen = readEvents(d, (s) => s.completedRounds === 1 && s.phase === "waiting");
    // Changes made while the stream opens and after: the stream must end on the latest state.
    setTimeout(() => {
      monitor.onEvent({ type: "round-start", round: 1, participants: ["node-1"], events: [] });
      for (let i = 0; i < 50; i++) monitor.bytesOut(100); // a burst: coalesced, not 50 frames
      monitor.onEvent({
        type: "round-end",
        record: {
          round: 1,
          participants: ["node-1"],
          failures: [],
          metrics: { loss: 0.5 },
          epsilon: { example: 0.75, user: null },
          seconds: 1,
          events: [],
        },
      });
    }, 50);
    const frames = await seen;
    assert.ok(frames[0]!.seq >= start);
    const last = frames.at(-1)!;
    assert.deepEqual(last, monitor.snapshot());
    assert.equal(last.bytes.sent, 5000);
    assert.ok(frames.length < 20, `expected coalesced frames, got ${frames.length}`);
    for (let i = 1; i < frames.length; i++) assert.ok(frames[i]!.seq > frames[i - 1]!.seq);
  });

  it("survives clients that disconnect mid-stream, mid-request, or send garbage", async () => {
    // 1. An SSE client that vanishes.
    for (let k = 0; k < 5; k++) {
      const ac = new AbortController();
      const res = await fetch(`${d.url}api/events`, { signal: ac.signal });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      ac.abort();
    }
    // 2. A raw socket that sends half a request and resets.
    await new Promise<void>((resolve) => {
      const s = connect(d.port, "127.0.0.1", () => {
        s.write("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n");
        setTimeout(() => {
          s.resetAndDestroy();
          resolve();
        }, 30);
      });
      s.on("error", () => resolve());
    });
    // 3. Garbage that is not HTTP.
    const reply = await new Promise<string>((resolve) => {
      const s = connect(d.port, "127.0.0.1", () => s.write("\x00\x01 not http\r\n\r\n"));
      let got = "";
      s.on("data", (c) => {
        got += c;
      });
      s.on("close", () => resolve(got));
      s.on("error", () => resolve(got));
    });
    assert.match(reply, /^HTTP\/1\.1 400/);
    // Changes after the disconnects must not throw, and the server still answers.
    for (let i = 0; i < 10; i++) monitor.bytesIn(1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await raw(d, "GET", "/healthz")).status, 200);
    assert.equal(d.sseClients, 0);
  });

  it("closes with SSE clients attached, and frees the port", async () => {
    const m = new RunMonitor(settings);
    const d2 = await startDashboard({ monitor: m, host: "127.0.0.1", port: 0 });
    const res = await fetch(`${d2.url}api/events`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    assert.equal(d2.sseClients, 1);
    await d2.close();
    await d2.close(); // idempotent
    await assert.rejects(fetch(`${d2.url}healthz`));
    // The port is free again: another server can bind it.
    const d3 = await startDashboard({ monitor: m, host: "127.0.0.1", port: d2.port });
    assert.equal(d3.port, d2.port);
    await d3.close();
  });
});

describe("dashboard security", () => {
  it("refuses to bind beyond loopback without a token", async () => {
    await assert.rejects(
      startDashboard({ monitor: new RunMonitor(settings), host: "0.0.0.0", port: 0 }),
      (e: Error & { code?: string }) => e.code === "E_USAGE" && /--dashboard-token/.test(e.message),
    );
    await assert.rejects(
      startDashboard({ monitor: new RunMonitor(settings), host: "127.0.0.1", port: 0, token: "short" }),
      /at least 16 characters/,
    );
  });

  it("with a token: 401 without it; header, query (which sets a cookie) and cookie all work; /healthz stays open", async () => {
    const token = "a-dashboard-token-0123456789";
    const d = await startDashboard({ monitor: new RunMonitor(settings), host: "0.0.0.0", port: 0, token });
    try {
      const base = `http://127.0.0.1:${d.port}`;
      assert.equal((await fetch(`${base}/api/state`)).status, 401);
      assert.equal((await fetch(`${base}/api/state?token=wrong-token-0123456789`)).status, 401);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const bearer = await fetch(`${base}/api/state`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(bearer.status, 200);
      const viaQuery = await fetch(`${base}/?token=${token}`);
      assert.equal(viaQuery.status, 200);
      const cookie = viaQuery.headers.get("set-cookie") ?? "";
      assert.match(cookie, /memarc_token=.*HttpOnly/);
      const withCookie = await fetch(`${base}/metrics`, { headers: { cookie: cookie.split(";")[0]! } });
      assert.equal(withCookie.status, 200);
    } finally {
      await d.close();
    }
  });
});

describe("dashboard event API: what the page draws from the first frame on", () => {
  const resumed = {
    round: 2,
    participants: ["key-a", "key-b"],
    failures: [],
    metrics: { test_loss: 0.4 },
    epsilon: { example: 2, user: null },
    seconds: 1,
    events: [],
  };

  it("carries the ε fill and node names in the very first frame, and `running` turns false on stop", async () => {
    // A resumed run: ε is already spent before any event of this process.
    const m = new RunMonitor(settings, { nodeNames: new Map([["key-a", "hospital-a"]]) });
    const seen = { firstSeen: "2026-01-01T00:00:00.000Z", lastSeen: "2026-01-01T00:01:00.000Z" };
    m.restore([{ ...resumed, round: 1, epsilon: { example: 1, user: null } }, resumed], {
      "key-a": { ...seen, roundsCompleted: 2, rejectedMessages: 0 },
      "key-b": { ...seen, roundsCompleted: 2, rejectedMessages: 0 },
    });
    const d = await startDashboard({ monitor: m, host: "127.0.0.1", port: 0, sseIntervalMs: 10 });
    try {
      const state = (await (await fetch(`${d.url}api/state`)).json()) as RunSnapshot;
      assert.deepEqual(state.budgetUsed, { epsilon: 2, budget: 8, fraction: 0.25 });
      assert.equal(state.running, true);
      const first = await readEvents(d, () => true);
      assert.equal(first.length, 1);
      assert.deepEqual(first[0]!.budgetUsed, { epsilon: 2, budget: 8, fraction: 0.25 });
      assert.deepEqual(
        first[0]!.nodes.map((n) => [n.id, n.name]),
        [
          ["key-a", "hospital-a"],
          ["key-b", null],
        ],
      );
      const frames = readEvents(d, (s) => !s.running);
      setTimeout(() => m.onEvent({ type: "stopped", reason: "completed", completedRound: 2 }), 30);
      const last = (await frames).at(-1)!;
      assert.equal(last.running, false);
      assert.equal(last.phase, "stopped");
      assert.deepEqual(last.budgetUsed, { epsilon: 2, budget: 8, fraction: 0.25 });
    } finally {
      await d.close();
    }
  });

  it("a fresh run's first frame has an empty meter against the budget, not a missing one", async () => {
    const m = new RunMonitor({ ...settings, privacyUnit: "user" });
    const d = await startDashboard({ monitor: m, host: "127.0.0.1", port: 0 });
    try {
      const [first] = await readEvents(d, () => true);
      assert.deepEqual(first!.budgetUsed, { epsilon: 0, budget: 8, fraction: 0 });
      // The governed unit decides: example-level ε does not fill a user-level meter.
      m.onEvent({ type: "round-end", record: { ...resumed, epsilon: { example: 6, user: 4 } } });
      assert.deepEqual(m.snapshot().budgetUsed, { epsilon: 4, budget: 8, fraction: 0.5 });
    } finally {
      await d.close();
    }
  });
});
