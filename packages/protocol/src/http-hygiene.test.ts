/**
 * The node port against plain-HTTP abuse, over real sockets: stray requests get a 404 at once,
 * silent connections are closed, one address cannot hold every file descriptor, and an honest node
 * still joins throughout.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { ClientChannel } from "./client-channel.js";
import { AllowList, generateIdentity } from "./identity.js";
import { MemoryLogger } from "./logger.js";
import { ServerChannel } from "./server-channel.js";
import { TEST_CAPABILITIES } from "./testing/rogue-client.js";

const coord = generateIdentity();
const honest = generateIdentity();
let server: ServerChannel;

before(async () => {
  server = await ServerChannel.listen({
    identity: coord,
    allowList: new AllowList([honest.publicKey]),
    logger: new MemoryLogger(),
    http: { headersTimeoutMs: 800, requestTimeoutMs: 1000, idleTimeoutMs: 800, maxConnectionsPerAddress: 30 },
  });
});
after(() => server.close());

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(server.port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

/** Resolves when the server closes the socket (or after `ms`, with false). */
function closedWithin(s: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed || s.readableEnded) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once("close", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

async function joinHonest() {
  const c = await ClientChannel.connect({
    url: server.url,
    identity: honest,
    coordinatorKey: coord.publicKey,
    capabilities: TEST_CAPABILITIES,
    logger: new MemoryLogger(),
  });
  c.close("test done");
}

describe("plain HTTP on the node port", () => {
  it("answers any other path with 404 and closes the connection", async () => {
    const replies = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const s = await open();
        let data = "";
        s.on("data", (d) => {
          data += d;
        });
        s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.ok(await closedWithin(s, 3000), "connection left open");
        return data;
      }),
    );
    for (const r of replies) assert.match(r, /^HTTP\/1\.1 404/);
  });

  it("closes connections that send nothing or only part of a request", async () => {
    const silent = await Promise.all(Array.from({ length: 10 }, open));
    const partial = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const s = await open();
        s.write("GET / HTTP/1.1\r\nHost: x\r\n"); // headers never finish
        return s;
      }),
    );
    const closed = await Promise.all([...silent, ...partial].map((s) => closedWithin(s, 5000)));
    assert.ok(closed.every(Boolean), `${closed.filter((c) => !c).length} connections still open`);
  });

  it("caps the connections one address holds, and an honest node still joins", async () => {
    const held = await Promise.all(Array.from({ length: 40 }, open));
    await new Promise((r) => setTimeout(r, 100));
    const refused = held.filter((s) => s.destroyed || s.readableEnded).length;
    assert.ok(refused >= 10, `only ${refused} of 40 connections beyond the cap of 30 were refused`);
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    await joinHonest();
  });
});
