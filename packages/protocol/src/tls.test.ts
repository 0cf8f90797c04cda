/** wss:// with a self-signed certificate: the node trusts exactly that certificate. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ClientChannel } from "./client-channel.js";
import { connectError } from "./connect-error.js";
import { AllowList, generateIdentity } from "./identity.js";
import { MemoryLogger } from "./logger.js";
import { ServerChannel } from "./server-channel.js";
import type { ServerSession } from "./session.js";
import { TEST_CAPABILITIES } from "./testing/rogue-client.js";
import { plainAgainstTls } from "./tls-probe.js";

function selfSigned(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "memarc-tls-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ],
    { stdio: "ignore" },
  );
  return {
    cert: readFileSync(join(dir, "cert.pem"), "utf8"),
    key: readFileSync(join(dir, "key.pem"), "utf8"),
  };
}

describe("TLS channel", () => {
  it("serves wss:// and exchanges sealed messages with a node that trusts the certificate", async () => {
    const tls = selfSigned();
    const coord = generateIdentity();
    const node = generateIdentity();
    const server = await ServerChannel.listen({
      identity: coord,
      allowList: new AllowList([node.publicKey]),
      tls,
      logger: new MemoryLogger(),
    });
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const got = new Promise<ServerSession>((resolve) =>
        server.on("session", (s: ServerSession) => resolve(s)),
      );
      const client = await ClientChannel.connect({
        url: server.url,
        identity: node,
        coordinatorKey: coord.publicKey,
        capabilities: TEST_CAPABILITIES,
        ca: tls.cert,
        logger: new MemoryLogger(),
      });
      const s = await got;
      const msg = s.next("bye", 5000);
      await client.send({ type: "bye", reason: "over tls" });
      assert.equal((await msg).reason, "over tls");
      client.close();
      // A node that does not trust the certificate cannot connect at all.
      await assert.rejects(
        ClientChannel.connect({
          url: server.url,
          identity: node,
          coordinatorKey: coord.publicKey,
          capabilities: TEST_CAPABILITIES,
          logger: new MemoryLogger(),
          timing: { handshakeTimeoutMs: 3000 },
        }),
        (e: Error & { code?: string }) => e.code === "E_TLS" && /DEPTH_ZERO_SELF_SIGNED_CERT/.test(e.message),
      );
      // The port speaks TLS: a plain URL to it is a scheme mistake, not a network failure.
      const plain = server.url.replace(/^https:/, "http:");
      const wrongScheme = await plainAgainstTls(plain);
      assert.equal(wrongScheme?.code, "E_TLS");
      assert.match(wrongScheme?.message ?? "", /serves TLS: connect to https:/);
    } finally {
      await server.close();
    }
  });

  it("a plain port is not mistaken for TLS, and a closed one is an ordinary, retryable failure", async () => {
    const server = await ServerChannel.listen({
      identity: generateIdentity(),
      allowList: new AllowList([generateIdentity().publicKey]),
      logger: new MemoryLogger(),
    });
    try {
      assert.equal(await plainAgainstTls(server.url), null);
    } finally {
      await server.close();
    }
    const closed = connectError("http://127.0.0.1:1", {
      message: "websocket error",
      description: { message: "connect ECONNREFUSED 127.0.0.1:1", error: { code: "ECONNREFUSED" } },
    });
    assert.equal(closed.code, "E_CLOSED");
    assert.match(closed.message, /ECONNREFUSED/);
  });
});
