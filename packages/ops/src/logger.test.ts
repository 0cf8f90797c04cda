import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import type { Logger } from "@memarc/protocol";
import {
  createLogger,
  defaultLogFormat,
  LOG_LEVELS,
  LogLevelError,
  REDACTED,
  toEventLogger,
} from "./logger.js";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      cb();
    },
  });
  return { lines, stream, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const SECRET = "c2VjcmV0LWtleS1tYXRlcmlhbC1kby1ub3QtbG9n"; // what a base64 secret key looks like

describe("createLogger", () => {
  it("pretty: one readable line per record (time, level, name, message, fields), redacted, no JSON", () => {
    const out = capture();
    const log = createLogger({
      level: "info",
      name: "coordinator",
      destination: out.stream,
      format: "pretty",
    });
    log.info({ round: 3, secretKey: SECRET }, "round done");
    log.debug("not shown");
    assert.equal(out.lines.filter((l) => /round done/.test(l)).length, 1);
    const text = out.lines.join("\n");
    assert.match(out.lines[0]!, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(coordinator\): round done$/);
    assert.match(text, /round: 3/);
    assert.ok(!text.includes(SECRET));
    assert.match(text, new RegExp(REDACTED.replace(/[[\]]/g, "\\$&")));
    assert.throws(() => JSON.parse(out.lines[0]!));
  });

  it("formats for a person on a terminal and for machines elsewhere", () => {
    assert.equal(defaultLogFormat({ isTTY: true }), "pretty");
    assert.equal(defaultLogFormat({ isTTY: false }), "json");
    assert.equal(defaultLogFormat({}), "json");
  });

  it("writes JSON lines with name, level label and time, honouring the level", () => {
    const out = capture();
    const log = createLogger({ level: "warn", name: "coordinator", destination: out.stream });
    log.info("not shown");
    log.warn({ round: 3 }, "slow node");
    log.error("failed");
    const recs = out.records();
    assert.deepEqual(
      recs.map((r) => [r.level, r.msg, r.name]),
      [
        ["warn", "slow node", "coordinator"],
        ["error", "failed", "coordinator"],
      ],
    );
    assert.equal(recs[0]!.round, 3);
    assert.ok(!Number.isNaN(Date.parse(String(recs[0]!.time))));
  });

  it("accepts every documented level and refuses others with a stable code", () => {
    for (const level of LOG_LEVELS) {
      const out = capture();
      const log = createLogger({ level, name: "x", destination: out.stream });
      log.fatal("f");
      assert.equal(out.lines.length, level === "silent" ? 0 : 1, level);
    }
    assert.throws(
      () => createLogger({ level: "verbose", name: "x" }),
      (e: unknown) => e instanceof LogLevelError && e.code === "E_BAD_LOG_LEVEL" && /verbose/.test(e.message),
    );
  });

  it("redacts key material at the top level and nested, from pino and the protocol adapter", () => {
    const out = capture();
    const log = createLogger({ level: "trace", name: "client", destination: out.stream });
    log.info({ secretKey: SECRET, node: "a" }, "top");
    log.info({ identity: { secretKey: SECRET, publicKey: "pub-A" } }, "nested");
    log.info({ session: { auth: { token: SECRET } } }, "deeper");
    log.debug({ joinToken: SECRET, key: SECRET, cfg: { joinToken: SECRET, key: SECRET } }, "tokens");
    const ev = toEventLogger(log);
    ev.warn("handshake refused", { joinToken: SECRET, nodeId: "n1" });
    ev.error("key load failed", { file: { key: SECRET } });
    ev.info("ok");
    const text = out.lines.join("\n");
    assert.equal(out.lines.length, 7);
    assert.ok(!text.includes(SECRET), `secret leaked:\n${text}`);
    const recs = out.records();
    assert.equal(recs[0]!.secretKey, REDACTED);
    assert.equal(recs[0]!.node, "a");
    assert.deepEqual(recs[1]!.identity, { secretKey: REDACTED, publicKey: "pub-A" });
    assert.deepEqual(recs[2]!.session, { auth: { token: REDACTED } });
    assert.deepEqual(recs[4]!, {
      ...recs[4]!,
      level: "warn",
      msg: "handshake refused",
      event: "handshake refused",
      joinToken: REDACTED,
      nodeId: "n1",
    });
    assert.equal(recs[5]!.level, "error");
  });

  it("is a drop-in for the protocol's Logger interface", () => {
    const out = capture();
    const protocolLogger: Logger = toEventLogger(
      createLogger({ level: "info", name: "p", destination: out.stream }),
    );
    protocolLogger.info("session open", { nodeId: "n" });
    assert.equal(out.records()[0]!.event, "session open");
  });

  it("writes to stderr by default, leaving stdout for --json results", () => {
    const script = `
      import { createLogger } from ${JSON.stringify(new URL("./logger.js", import.meta.url).href)};
      const log = createLogger({ level: "info", name: "cli" });
      log.info({ token: ${JSON.stringify(SECRET)} }, "hello");
      process.stdout.write("RESULT\\n");`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "RESULT\n");
    const rec = JSON.parse(r.stderr.trim());
    assert.equal(rec.msg, "hello");
    assert.equal(rec.token, REDACTED);
  });
});
