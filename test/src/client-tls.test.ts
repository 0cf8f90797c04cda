/**
 * TLS and address mistakes on a real `memarc client` against a real `memarc coordinator --tls-cert`:
 * each is a non-retryable failure that exits non-zero at once with E_TLS and names the cause, instead
 * of being retried forever as "websocket error".
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type MemarcProcess, startMemarc } from "./cli-process.js";
import { keygen as keygenIn, runMemarc } from "./cli-run.js";

const dir = mkdtempSync(join(tmpdir(), "memarc-client-tls-"));
let coordinator: MemarcProcess | undefined;
let httpsUrl = "";

function certificate(name: string, san: string): void {
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
      ...["-days", "1", "-subj", `/CN=${name}`, "-addext", `subjectAltName=${san}`],
      ...["-keyout", join(dir, `${name}.key.pem`), "-out", join(dir, `${name}.cert.pem`)],
    ],
    { stdio: "ignore" },
  );
}

const keygen = (name: string) => keygenIn(dir, name);

function client(url: string, extra: string[] = []) {
  return runMemarc(
    [
      ...["client", "--coordinator", url, "--coordinator-key", join(dir, "coord.pub")],
      ...["--key", join(dir, "n0.key"), "--data", "spam-assassin:iid:0/3"],
      ...["--state", join(dir, "n0-state"), ...extra, "--json"],
    ],
    {},
    60_000,
  );
}

let keys: Promise<void> | undefined;
function setup(): Promise<void> {
  keys ??= (async () => {
    certificate("coord", "IP:127.0.0.1");
    certificate("other", "DNS:other.example");
    await keygen("coord");
    writeFileSync(join(dir, "nodes.txt"), `${await keygen("n0")}\n`);
  })();
  return keys;
}

describe("client: TLS mistakes are fatal and explained", { timeout: 180_000 }, () => {
  before(async () => {
    await setup();
    coordinator = startMemarc([
      ...["coordinator", "--key", join(dir, "coord.key"), "--allow", join(dir, "nodes.txt")],
      ...["--port", "0", "--no-dashboard", "--state", join(dir, "run"), "--scheme", "logreg"],
      ...["--test-data", "spam-assassin", "--wait-seconds", "120", "--min-nodes", "2"],
      ...["--tls-cert", join(dir, "coord.cert.pem"), "--tls-key", join(dir, "coord.key.pem")],
    ]);
    httpsUrl = (await coordinator.waitFor(/coordinator listening on (\S+)/))[1]!;
    assert.match(httpsUrl, /^https:\/\//);
  });
  after(() => coordinator?.child.kill("SIGKILL"));

  const fatal = (r: { code: number; stderr: string; json: unknown }, cause: RegExp) => {
    assert.notEqual(r.code, 0, r.stderr);
    assert.equal((r.json as { error?: { code?: string } }).error?.code, "E_TLS", r.stderr);
    assert.match(r.stderr, cause);
    assert.doesNotMatch(r.stderr, /retrying in/);
  };

  it("a self-signed coordinator certificate without --ca: names the certificate and --ca", async () => {
    fatal(await client(httpsUrl), /DEPTH_ZERO_SELF_SIGNED_CERT.*--ca/);
  });

  it("--ca with another certificate: still untrusted, still explained", async () => {
    fatal(await client(httpsUrl, ["--ca", join(dir, "other.cert.pem")]), /not trusted/);
  });

  it("a host name the certificate does not list: ERR_TLS_CERT_ALTNAME_INVALID", async () => {
    const byName = httpsUrl.replace("127.0.0.1", "localhost");
    fatal(await client(byName, ["--ca", join(dir, "coord.cert.pem")]), /ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  it("ws:// against a wss:// coordinator: says to use wss://", async () => {
    const plain = httpsUrl.replace(/^https:/, "ws:");
    const port = new URL(httpsUrl).port;
    fatal(await client(plain), new RegExp(`serves TLS: connect to (wss|https)://127\\.0\\.0\\.1:${port}`));
  });
});

describe("client: wss:// against a plain coordinator", { timeout: 120_000 }, () => {
  it("says the coordinator does not speak TLS", async () => {
    await setup();
    const c = startMemarc([
      ...["coordinator", "--key", join(dir, "coord.key"), "--allow", join(dir, "nodes.txt")],
      ...["--port", "0", "--no-dashboard", "--state", join(dir, "run2"), "--scheme", "logreg"],
      ...["--test-data", "spam-assassin", "--wait-seconds", "120", "--min-nodes", "2"],
    ]);
    try {
      const url = (await c.waitFor(/coordinator listening on (\S+)/))[1]!;
      const r = await client(url.replace(/^http:/, "wss:"));
      assert.notEqual(r.code, 0, r.stderr);
      assert.equal((r.json as { error?: { code?: string } }).error?.code, "E_TLS", r.stderr);
      assert.match(r.stderr, /does not speak TLS/);
    } finally {
      c.child.kill("SIGKILL");
    }
  });
});

describe("client: files are checked before it connects, and named", { timeout: 120_000 }, () => {
  const nowhere = "ws://127.0.0.1:9"; // nothing is contacted: each case fails first
  it("--ca that is not a PEM certificate; --key given the .pub file", async () => {
    await setup();
    writeFileSync(join(dir, "not-a-cert.pem"), "hello\n");
    const ca = await client(nowhere, ["--ca", join(dir, "not-a-cert.pem")]);
    assert.equal(ca.code, 2, ca.stderr);
    assert.match(ca.stderr, /--ca: .*not-a-cert\.pem does not hold a PEM certificate/);
    const r = await runMemarc(
      [
        ...["client", "--coordinator", nowhere, "--coordinator-key", join(dir, "coord.pub")],
        ...["--key", join(dir, "n0.pub"), "--data", "spam-assassin:iid:0/3", "--json"],
      ],
      {},
      60_000,
    );
    assert.equal((r.json as { error?: { code?: string } }).error?.code, "E_KEY_FILE", r.stderr);
    assert.match(r.stderr, /--key: .*n0\.pub holds only a public key/);
  });

  it("a corrupt saved accountant is E_STATE naming its path, and is left as it was", async () => {
    await setup();
    const state = join(dir, "corrupt-node");
    mkdirSync(state, { recursive: true });
    const path = join(state, "accountant.json");
    writeFileSync(path, '{"type":"rdp","history":[{"noiseMu');
    const r = await runMemarc(
      [
        ...["client", "--coordinator", nowhere, "--coordinator-key", join(dir, "coord.pub")],
        ...["--key", join(dir, "n0.key"), "--data", "spam-assassin:iid:0/3", "--state", state, "--json"],
      ],
      {},
      60_000,
    );
    assert.notEqual(r.code, 0);
    const error = (r.json as { error?: { code?: string; message?: string } }).error;
    assert.equal(error?.code, "E_STATE", r.stderr);
    assert.ok(error?.message?.includes(path), error?.message);
    assert.equal(readFileSync(path, "utf8"), '{"type":"rdp","history":[{"noiseMu');
  });
});
