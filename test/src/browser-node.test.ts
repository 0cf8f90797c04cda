/**
 * The browser node in real Chromium (playwright-core, headless, wasm backend) against a real
 * `memarc coordinator --browser-nodes` and a real `memarc client`, over real sockets. Each browser
 * is its own profile (its own IndexedDB: its own key and accountant), and both the page and the
 * node port are reached through a recording proxy on 127.0.0.2, so every byte the browsers send can
 * be searched for the training file.
 */
import assert from "node:assert/strict";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { launchChromium, chromiumSkip as skip } from "./chromium.js";
import { type MemarcProcess, startMemarc } from "./cli-process.js";
import { keygen, runMemarc } from "./cli-run.js";
import { recordingProxy } from "./recording-proxy.js";
import { saveTinyGpt2 } from "./tiny-gpt2.js";

const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));
const TOKEN = "browser-join-token-0123";
const dir = mkdtempSync(join(tmpdir(), "memarc-browser-node-"));
const spawned: MemarcProcess[] = [];
const contexts: BrowserContext[] = [];
after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  for (const p of spawned) p.child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const HAM = [
  "meeting agenda for monday",
  "notes from the call attached",
  "lunch at noon tomorrow",
  "draft report to review",
];
const SPAM = [
  "free money offer now",
  "win a prize click here",
  "cheap pills discount today",
  "claim your lottery reward",
];

/** `n` labelled records, each carrying a canary no other byte stream could contain by chance. */
function writeData(name: string, n: number): { path: string; canaries: string[] } {
  const canaries: string[] = [];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const spam = i % 2 === 1;
    const canary = `canary${name}x${i}q${(i * 7919) % 10007}`;
    canaries.push(canary);
    const pool = spam ? SPAM : HAM;
    lines.push(JSON.stringify({ text: `${pool[i % pool.length]} ${canary}`, label: spam ? "spam" : "ham" }));
  }
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return { path, canaries };
}

let keys: Promise<{ cli: string }> | undefined;
/** The coordinator's key pair and the CLI node's, made once for both tests. */
const ensureKeys = () => {
  keys ??= keygen(dir, "coord").then(async () => ({ cli: await keygen(dir, "cli") }));
  return keys;
};

let model: Promise<string> | undefined;
const tinyModel = () => {
  model ??= saveTinyGpt2(join(dir, "tiny"), { nPositions: 32 });
  return model;
};

/** A coordinator admitting nodes by join token, or by its allow-list file when `allow` is given. */
function coordinator(state: string, extra: string[], allow?: string): MemarcProcess {
  const p = startMemarc([
    ...["coordinator", "--key", join(dir, "coord.key")],
    ...(allow ? ["--allow", allow] : ["--open-enrolment", "--join-token", TOKEN]),
    ...["--browser-nodes", "--scheme", "side", "--model", join(dir, "tiny"), "--context", "16"],
    ...["--epsilon", "8", "--test-data", "none", "--state", join(dir, state)],
    ...["--port", "0", "--dashboard-port", "0", "--wait-seconds", "120", "--round-timeout", "120"],
    ...extra,
    "--json",
  ]);
  spawned.push(p);
  return p;
}

function cliNode(
  url: string,
  data: string,
  state: string,
  token = true,
  extra: string[] = [],
): MemarcProcess {
  const p = startMemarc([
    ...["client", "--coordinator", url, "--coordinator-key", join(dir, "coord.pub")],
    ...["--key", join(dir, "cli.key"), ...(token ? ["--join-token", TOKEN] : [])],
    ...["--data", data, "--model", join(dir, "tiny")],
    ...["--state", join(dir, state), "--json"],
    ...extra,
  ]);
  spawned.push(p);
  return p;
}

/** A plain static file server for `root` at `prefix` (as any web host would serve build-node-page's output). */
async function serveStatic(root: string, host: string, port: number, prefix: string) {
  const types: Record<string, string> = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".wasm": "application/wasm",
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const rel = path.startsWith(prefix) ? path.slice(prefix.length) || "index.html" : null;
    const file = rel && !rel.includes("..") ? join(root, rel) : null;
    if (!file || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const text = async (page: Page, id: string) =>
  ((await page.locator(`[data-testid="${id}"]`).textContent()) ?? "").trim();

/** In-page JS: the (one) node database of the page's origin, opened. */
const OPEN_NODE_DB = `(async () => {
  const names = (await indexedDB.databases()).map((d) => d.name || "").filter((n) => n.startsWith("memarc-node:"));
  if (names.length !== 1) throw new Error("expected one node database, found " + names.length);
  return new Promise((res, rej) => {
    const r = indexedDB.open(names[0]);
    r.onsuccess = () => res(r.result);
    r.onerror = () => rej(r.error);
  });
})()`;

/**
 * What the page's IndexedDB holds for the node key: run in the page, as any script of the origin
 * could. The private key must be a CryptoKey that even the page cannot export, with no raw copy.
 */
function nodeKeyRecord(page: Page) {
  return page.evaluate(`(async () => {
    const db = await ${OPEN_NODE_DB};
    const get = (k) => new Promise((res, rej) => {
      const r = db.transaction("state").objectStore("state").get(k);
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const key = await get("node-key");
    const raw = await get("identity");
    let exported = "refused";
    if (key && key.privateKey)
      await crypto.subtle.exportKey("pkcs8", key.privateKey).then(() => { exported = "exported"; }, () => {});
    db.close();
    return {
      cryptoKey: !!key && key.privateKey instanceof CryptoKey,
      extractable: key && key.privateKey ? key.privateKey.extractable : null,
      algorithm: key && key.privateKey ? key.privateKey.algorithm.name : null,
      raw: raw !== undefined,
      exported,
    };
  })()`);
}

/** A browser profile (one device) with its page open; page errors and failed requests are collected. */
async function openBrowserNode(url: string, profile: string, problems: string[], requests: string[]) {
  const context = await launchChromium(join(dir, profile), { height: 1400 });
  contexts.push(context);
  context.on("request", (r) => requests.push(r.url()));
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => problems.push(`${profile} pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`${profile} console: ${m.text()}`);
  });
  await page.goto(url);
  await page.locator('[data-testid="node-key"]', { hasText: /=$/ }).waitFor({ timeout: 15_000 });
  return { context, page };
}

async function joinRun(page: Page, file: string, records: number, token = true, threads = 1): Promise<void> {
  await page.locator('[data-testid="file"]').setInputFiles(file);
  await page.locator('[data-testid="validation"]', { hasText: `${records} records validated` }).waitFor();
  if (token) await page.locator('[data-testid="join-token"]').fill(TOKEN);
  await page.locator('[data-testid="backend"]').selectOption("wasm");
  await page.locator('[data-testid="threads"]').fill(String(threads));
  await page.locator('[data-testid="join"]').click();
}

describe("browser node in Chromium", () => {
  it("two browser nodes and a CLI node train two rounds; the coordinator's ledger holds all three; a reload keeps key and ε; no byte of the files leaves the pages", {
    skip,
    timeout: 300_000,
  }, async () => {
    await tinyModel();
    const cliKey = (await ensureKeys()).cli;
    const a = writeData("a", 60);
    const b = writeData("b", 60);
    const c = writeData("c", 60);
    const coord = coordinator("state-run", ["--rounds", "2", "--min-nodes", "3"]);
    const nodeUrl = new URL((await coord.waitFor(/coordinator listening on (\S+)/))[1]!);
    const pageUrl = new URL((await coord.waitFor(/browser nodes join at (\S+)/))[1]!);
    // Both ports through the recorder: the page at 127.0.0.2 learns the node endpoint 127.0.0.2:<port>.
    const proxies = await Promise.all([
      recordingProxy("127.0.0.2", "127.0.0.1", Number(pageUrl.port)),
      recordingProxy("127.0.0.2", "127.0.0.1", Number(nodeUrl.port)),
    ]);
    // The page as static files, copied from the coordinator while it runs: after the run, they serve
    // the reload from the same origin (the coordinator, and with it its dashboard port, is gone then).
    const site = join(dir, "site");
    const built = await runMemarc(["build-node-page", "--out", site, "--from", pageUrl.href, "--json"]);
    assert.equal(built.code, 0, built.stderr);
    const copy = built.json as { files: string[]; coordinator: string; contentSecurityPolicy: string };
    assert.ok(
      copy.files.includes("run.json") && copy.files.includes("model/model.safetensors"),
      copy.files.join(),
    );
    assert.match(
      copy.contentSecurityPolicy,
      new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${nodeUrl.port}`),
    );
    const problems: string[] = [];
    const requests: string[] = [];
    const recorded = `http://127.0.0.2:${pageUrl.port}/node/`;
    const nodeA = await openBrowserNode(recorded, "profile-a", problems, requests);
    const nodeB = await openBrowserNode(recorded, "profile-b", problems, requests);
    const keyA = await text(nodeA.page, "node-key");
    const keyB = await text(nodeB.page, "node-key");
    assert.notEqual(keyA, keyB, "two profiles are two nodes");
    assert.match(await text(nodeA.page, "promise"), /never uploaded/);
    // Node A clips its DP steps' micro-batches on two Web Workers (clip-worker.js), B in its own.
    await joinRun(nodeA.page, a.path, 60, true, 2);
    await joinRun(nodeB.page, b.path, 60);
    const cli = cliNode(nodeUrl.href, c.path, "cli-state");

    const done = await coord.done;
    assert.equal(done.code, 0, coord.stderr());
    const summary = done.json as { rounds: number; stopReason: string; epsilon: number };
    assert.equal(summary.rounds, 2, JSON.stringify(summary));
    assert.equal(summary.stopReason, "completed");
    for (const { page } of [nodeA, nodeB]) {
      await page.locator('[data-testid="status"][data-state="finished"]').waitFor({ timeout: 30_000 });
      assert.equal(await text(page, "rounds-trained"), "2");
      assert.match(await text(page, "backend-used"), /^wasm/);
    }
    assert.match(await text(nodeA.page, "log"), /DP steps on 2 worker threads/);
    // The node key that signed the handshakes and updates is a non-extractable Web Crypto key.
    assert.deepEqual(await nodeKeyRecord(nodeA.page), {
      cryptoKey: true,
      extractable: false,
      algorithm: "Ed25519",
      raw: false,
      exported: "refused",
    });
    assert.doesNotMatch(await text(nodeB.page, "log"), /worker threads/);
    assert.equal((await cli.done).code, 0, cli.stderr());

    // The coordinator's own record: three participants in every round, three subjects in the ledger.
    const state = JSON.parse(readFileSync(join(dir, "state-run", "state.json"), "utf8")) as {
      history: { participants: string[] }[];
      ledger: { example: Record<string, unknown> };
    };
    const ids = [keyA, keyB, cliKey].sort();
    assert.deepEqual(Object.keys(state.ledger.example).sort(), ids);
    for (const h of state.history) assert.deepEqual([...h.participants].sort(), ids);

    // Each page's ε is the node's own accountant, persisted in IndexedDB: it survives a reload, and
    // so does the key.
    const epsA = await text(nodeA.page, "local-epsilon");
    assert.ok(Number(epsA) > 0 && Number(epsA) <= 8, epsA);
    mkdirSync(ARTIFACTS, { recursive: true });
    await nodeA.page.screenshot({ path: join(ARTIFACTS, "browser-node.png"), fullPage: true });
    const staticSite = await serveStatic(site, "127.0.0.1", Number(pageUrl.port), "/node/");
    await nodeA.page.reload();
    await nodeA.page.locator('[data-testid="node-key"]', { hasText: /=$/ }).waitFor();
    assert.equal(await text(nodeA.page, "node-key"), keyA);
    await nodeA.page.locator('[data-testid="local-epsilon"]', { hasText: epsA }).waitFor({ timeout: 10_000 });

    for (const ctx of [nodeA.context, nodeB.context]) await ctx.close();
    await staticSite.close();
    await new Promise((r) => setTimeout(r, 200));
    for (const p of proxies) await p.close();
    assert.deepEqual(problems, []);
    // Only the coordinator's two ports were ever asked for (the CSP allows nothing else either).
    const origins = new Set(requests.map((u) => new URL(u).origin));
    assert.deepEqual([...origins].sort(), [`http://127.0.0.2:${pageUrl.port}`]);
    // Every byte the browsers sent: HTTP requests as sent, WebSocket payloads unmasked.
    const [pageTraffic, nodeTraffic] = proxies;
    const payloads = nodeTraffic!.webSocketPayloads();
    assert.ok(
      payloads.length > 10,
      `the node port carried the browsers' updates (${payloads.length} frames)`,
    );
    assert.equal(nodeTraffic!.compressedFrames(), 0, "uncompressed frames: their payloads were searched");
    const streams = [
      pageTraffic!.sent(),
      nodeTraffic!.sent(),
      ...payloads,
      ...pageTraffic!.webSocketPayloads(),
    ];
    for (const canary of [...a.canaries, ...b.canaries])
      for (const s of streams) assert.equal(s.indexOf(canary), -1, `${canary} left a page`);
    // The same search finds what does go out: the join token's proof is not the token, but the page
    // requests do name run.json (the search is not blind).
    assert.ok(pageTraffic!.sent().includes("GET /node/run.json"));
  });

  it("with an allow-list, the operator approves the keys the pages show; closing a tab mid-round drops that node and the round completes with the others", {
    skip,
    timeout: 240_000,
  }, async () => {
    await tinyModel();
    const cliKey = (await ensureKeys()).cli;
    const big = writeData("big", 3000);
    const small = writeData("small", 60);
    const c = writeData("c2", 60);
    const allow = join(dir, "nodes.txt");
    writeFileSync(allow, `${cliKey}  # cli node\n`);
    const coord = coordinator("state-close", ["--rounds", "1", "--min-nodes", "3"], allow);
    const nodeUrl = (await coord.waitFor(/coordinator listening on (\S+)/))[1]!;
    const pageUrl = (await coord.waitFor(/browser nodes join at (\S+)/))[1]!;
    const problems: string[] = [];
    const requests: string[] = [];
    const leaving = await openBrowserNode(pageUrl, "profile-close-a", problems, requests);
    const staying = await openBrowserNode(pageUrl, "profile-close-b", problems, requests);
    assert.equal(await staying.page.locator('[data-testid="join-token"]').isVisible(), false);
    // The operator approves the two keys the pages show by adding them to the running coordinator's file.
    const browserKeys = [await text(leaving.page, "node-key"), await text(staying.page, "node-key")];
    appendFileSync(allow, browserKeys.map((k, i) => `${k}  # browser ${i}\n`).join(""));
    for (const k of browserKeys)
      await coord.waitFor(
        new RegExp(`allow-list: node ${k.replace(/[+/]/g, "\\$&")} \\(browser \\d\\) approved`),
      );
    await joinRun(leaving.page, big.path, 3000, false);
    await joinRun(staying.page, small.path, 60, false);
    const cli = cliNode(nodeUrl, c.path, "cli-close", false);
    // The round has started once the big node reads its examples for it: close its tab then.
    await leaving.page
      .locator(
        '[data-testid="status"][data-state="preparing"], [data-testid="status"][data-state="training"]',
      )
      .first()
      .waitFor({ timeout: 120_000 });
    const leftKey = await text(leaving.page, "node-key");
    await leaving.context.close();

    const done = await coord.done;
    assert.equal(done.code, 0, coord.stderr());
    const state = JSON.parse(readFileSync(join(dir, "state-close", "state.json"), "utf8")) as {
      history: { participants: string[]; failures: { nodeId: string }[] }[];
      stopReason: string;
    };
    assert.equal(state.stopReason, "completed");
    assert.equal(state.history.length, 1);
    assert.equal(state.history[0]!.participants.length, 2);
    assert.ok(!state.history[0]!.participants.includes(leftKey));
    assert.deepEqual(
      state.history[0]!.failures.map((f) => f.nodeId),
      [leftKey],
    );
    await staying.page.locator('[data-testid="status"][data-state="finished"]').waitFor({ timeout: 30_000 });
    assert.equal((await cli.done).code, 0, cli.stderr());
    assert.deepEqual(problems, []);
  });
});

describe("browser node: user-level run", () => {
  it("with the person's consent, a page takes part in user-level DP-FedAvg (the coordinator adds the noise)", {
    skip,
    timeout: 180_000,
  }, async () => {
    await tinyModel();
    await ensureKeys();
    const d = writeData("user", 30);
    const e = writeData("user-cli", 30);
    const coord = coordinator("state-user", ["--privacy-unit", "user", "--rounds", "1", "--min-nodes", "2"]);
    const nodeUrl = (await coord.waitFor(/coordinator listening on (\S+)/))[1]!;
    const pageUrl = (await coord.waitFor(/browser nodes join at (\S+)/))[1]!;
    const problems: string[] = [];
    const { page } = await openBrowserNode(pageUrl, "profile-user", problems, []);
    assert.match((await page.locator('[data-field="unit"]').textContent()) ?? "", /^user/);
    const consent = page.locator('[data-testid="central-dp"]');
    assert.equal(await consent.isVisible(), true, "the consent box shows for user-level runs");
    await consent.check();
    await joinRun(page, d.path, 30);
    const cli = cliNode(nodeUrl, e.path, "cli-user", true, ["--accept-central-dp"]);
    const done = await coord.done;
    assert.equal(done.code, 0, coord.stderr());
    const summary = done.json as {
      rounds: number;
      stopReason: string;
      privacyUnit: string;
      userEpsilon: number;
    };
    assert.equal(summary.privacyUnit, "user", JSON.stringify(summary));
    assert.ok(summary.userEpsilon > 0 && summary.userEpsilon <= 8, JSON.stringify(summary));
    assert.equal(summary.stopReason, "completed");
    assert.equal(summary.rounds, 1);
    await page.locator('[data-testid="status"][data-state="finished"]').waitFor({ timeout: 30_000 });
    assert.equal(await text(page, "rounds-trained"), "1");
    assert.equal((await cli.done).code, 0, cli.stderr());
    const state = JSON.parse(readFileSync(join(dir, "state-user", "state.json"), "utf8")) as {
      history: { participants: string[] }[];
    };
    assert.equal(state.history.length, 1);
    assert.equal(state.history[0]!.participants.length, 2, "the page and the CLI node both took part");
    assert.deepEqual(problems, []);
  });
});

describe("browser node: Leave", () => {
  it("Leave disconnects the node and ends its run; no ε is spent when no round ran; a raw key from an earlier page becomes a non-extractable one", {
    skip,
    timeout: 120_000,
  }, async () => {
    await tinyModel();
    await ensureKeys();
    const d = writeData("leave", 20);
    const coord = coordinator("state-leave", ["--rounds", "1", "--min-nodes", "2"]);
    const pageUrl = (await coord.waitFor(/browser nodes join at (\S+)/))[1]!;
    const problems: string[] = [];
    const { page } = await openBrowserNode(pageUrl, "profile-leave", problems, []);
    await joinRun(page, d.path, 20);
    // Alone, the node waits for a round that cannot start (two nodes needed).
    await page.locator('[data-testid="status"][data-state="waiting"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="leave"]').click();
    await page.locator('[data-testid="status"][data-state="finished"]', { hasText: "aborted" }).waitFor({
      timeout: 30_000,
    });
    assert.equal(await text(page, "rounds-trained"), "0");
    assert.match(await text(page, "local-epsilon"), /^0 /);
    assert.equal(await page.locator('[data-testid="leave"]').isDisabled(), true);

    // A raw key an earlier page stored is moved into a non-extractable CryptoKey: same node id,
    // no bytes left behind.
    await keygen(dir, "legacy");
    const legacy = JSON.parse(readFileSync(join(dir, "legacy.key"), "utf8")) as {
      publicKey: string;
      secretKey: string;
    };
    const secret = JSON.stringify([...Buffer.from(legacy.secretKey, "base64")]);
    await page.evaluate(`(async () => {
      const db = await ${OPEN_NODE_DB};
      await new Promise((res, rej) => {
        const tx = db.transaction("state", "readwrite");
        tx.objectStore("state").delete("node-key");
        tx.objectStore("state").put(Uint8Array.from(${secret}), "identity");
        tx.oncomplete = () => res();
        tx.onerror = () => rej(tx.error);
      });
      db.close();
    })()`);
    await page.reload();
    await page
      .locator('[data-testid="node-key"]', { hasText: legacy.publicKey })
      .waitFor({ timeout: 15_000 });
    assert.deepEqual(await nodeKeyRecord(page), {
      cryptoKey: true,
      extractable: false,
      algorithm: "Ed25519",
      raw: false,
      exported: "refused",
    });
    coord.child.kill("SIGINT");
    await coord.done;
    assert.deepEqual(problems, []);
  });
});

describe("memarc bench browser-step", () => {
  it("times the side DP step in Chromium and in Node and prints both with the browser's backend", {
    skip,
    timeout: 180_000,
  }, async () => {
    await tinyModel();
    const r = await runMemarc(
      [
        ...["bench", "browser-step", "--model", join(dir, "tiny"), "--backend", "wasm"],
        ...["--batch", "4", "--context", "8", "--steps", "2", "--warmup", "0", "--json"],
      ],
      {},
      170_000,
    );
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as {
      browser: { backend: string; dpMs: number; stepMs: number[] };
      node: { backend: string; dpMs: number };
      ratio: number;
      config: { batch: number };
    };
    assert.equal(j.browser.backend, "wasm");
    assert.equal(j.node.backend, "wasm");
    assert.equal(j.browser.stepMs.length, 2);
    assert.ok(j.browser.dpMs > 0 && j.node.dpMs > 0);
    assert.ok(Math.abs(j.ratio - j.browser.dpMs / j.node.dpMs) < 0.01 * j.ratio + 1e-3, String(j.ratio));
    assert.equal(j.config.batch, 4);
  });
});
