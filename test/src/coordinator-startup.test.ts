/**
 * A coordinator that cannot run must say why and exit non-zero — never keep a port open that a
 * supervisor would take for a healthy process. Each case runs the real binary with a timeout.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { keygen, runMemarc } from "./cli-run.js";

const dir = mkdtempSync(join(tmpdir(), "memarc-startup-"));
let busy: Server;
let busyPort = 0;

before(async () => {
  for (const name of ["coord", "n0"]) await keygen(dir, name);
  writeFileSync(join(dir, "nodes.txt"), readFileSync(join(dir, "n0.pub"), "utf8"));
  writeFileSync(join(dir, "empty.txt"), "# nobody\n");
  busy = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => busy.once("listening", r));
  busyPort = (busy.address() as { port: number }).port;
});
after(() => busy.close());

/** Run a coordinator that must fail at start-up; resolves with its exit code and error JSON. */
async function failing(extra: string[]) {
  const r = await runMemarc(
    [
      "coordinator",
      "--key",
      join(dir, "coord.key"),
      "--scheme",
      "logreg",
      "--test-data",
      "spam-assassin",
      "--port",
      "0",
      "--dashboard-port",
      "0",
      "--wait-seconds",
      "30",
      ...extra,
      "--json",
    ],
    {},
    60_000,
  );
  return {
    code: r.code,
    error: (r.json as { error?: { code: string; message: string } })?.error,
    stderr: r.stderr,
  };
}

describe("coordinator start-up failures exit non-zero with the cause", { timeout: 300_000 }, () => {
  it("an existing run without --resume, and --resume of a directory that holds no run", async () => {
    const state = join(dir, "existing");
    mkdirSync(state);
    writeFileSync(join(state, "state.json"), "{}");
    const a = await failing(["--allow", join(dir, "nodes.txt"), "--state", state]);
    assert.notEqual(a.code, 0);
    assert.equal(a.error?.code, "E_STATE");
    assert.match(a.error!.message, /already holds a run/);
    const b = await failing(["--allow", join(dir, "nodes.txt"), "--state", join(dir, "typo"), "--resume"]);
    assert.notEqual(b.code, 0);
    assert.equal(b.error?.code, "E_STATE");
    assert.match(b.error!.message, /nothing to resume/);
  });

  it("an empty, truncated or {} state file on --resume", async () => {
    for (const [name, content] of [
      ["empty", ""],
      ["braces", "{}"],
      ["truncated", '{"version": 2, "fingerprint": "x", "completedRo'],
    ] as const) {
      const state = join(dir, `bad-${name}`);
      mkdirSync(state);
      writeFileSync(join(state, "state.json"), content);
      const r = await failing(["--allow", join(dir, "nodes.txt"), "--state", state, "--resume"]);
      assert.notEqual(r.code, 0, name);
      assert.equal(r.error?.code, "E_STATE", `${name}: ${r.stderr}`);
    }
  });

  it("a dashboard port in use is named as the dashboard's; an empty allow-list is refused", async () => {
    const busyDash = await failing([
      "--allow",
      join(dir, "nodes.txt"),
      "--state",
      join(dir, "dash"),
      "--dashboard-port",
      String(busyPort),
    ]);
    assert.notEqual(busyDash.code, 0);
    assert.match(busyDash.error?.message ?? "", /--dashboard-port/);
    const nodePort = await failing([
      "--allow",
      join(dir, "nodes.txt"),
      "--state",
      join(dir, "port"),
      "--port",
      String(busyPort),
    ]);
    assert.notEqual(nodePort.code, 0);
    assert.match(nodePort.error?.message ?? "", /--port/);
    const empty = await failing(["--allow", join(dir, "empty.txt"), "--state", join(dir, "empty")]);
    assert.notEqual(empty.code, 0);
    assert.match(empty.error?.message ?? "", /allow-list holds no node keys/);
  });

  it("TLS and key files are checked before any port opens, and named with their flag", async () => {
    for (const name of ["a", "b"])
      execFileSync(
        "openssl",
        [
          ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"],
          ...[
            "-subj",
            `/CN=${name}`,
            "-keyout",
            join(dir, `${name}.key.pem`),
            "-out",
            join(dir, `${name}.cert.pem`),
          ],
        ],
        { stdio: "ignore" },
      );
    writeFileSync(
      join(dir, "garbage.pem"),
      "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    );
    const tls = (cert: string, key: string) => [
      ...["--allow", join(dir, "nodes.txt"), "--state", join(dir, `tls-${cert}-${key}`)],
      ...["--tls-cert", join(dir, cert), "--tls-key", join(dir, key)],
    ];
    const cases: [string[], RegExp][] = [
      [tls("missing.pem", "a.key.pem"), /--tls-cert: cannot read .*missing\.pem/],
      [tls("garbage.pem", "a.key.pem"), /--tls-cert: .*garbage\.pem does not hold a PEM certificate/],
      [tls("a.cert.pem", "a.cert.pem"), /--tls-key: .*a\.cert\.pem does not hold a PEM private key/],
      [
        tls("a.cert.pem", "b.key.pem"),
        /--tls-cert\/--tls-key: the private key in .*b\.key\.pem does not belong/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await failing(args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.error?.code, "E_USAGE", r.stderr);
      assert.match(r.error?.message ?? "", message);
      assert.doesNotMatch(r.stderr, /listening/);
    }
  });

  it("--max-connections-per-address below 1 is a usage error naming the flag", async () => {
    const r = await failing([
      ...["--allow", join(dir, "nodes.txt"), "--state", join(dir, "maxconn")],
      ...["--max-connections-per-address", "0"],
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.error?.message ?? "", /--max-connections-per-address/);
  });

  it("a .pub file given as --key is named as such, not as corrupt JSON", async () => {
    const r = await runMemarc(
      [
        ...["coordinator", "--key", join(dir, "coord.pub"), "--allow", join(dir, "nodes.txt")],
        ...["--scheme", "logreg", "--test-data", "spam-assassin", "--port", "0", "--json"],
      ],
      {},
      60_000,
    );
    assert.notEqual(r.code, 0);
    const error = (r.json as { error?: { code: string; message: string } }).error;
    assert.equal(error?.code, "E_KEY_FILE", r.stderr);
    assert.match(error?.message ?? "", /^--key: .*coord\.pub holds only a public key/);
    assert.doesNotMatch(error?.message ?? "", /JSON|chmod/);
  });
});
