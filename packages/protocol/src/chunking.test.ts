import assert from "node:assert/strict";
import { describe, it } from "node:test";
import nacl from "tweetnacl";
import { buildChunk, type FrameHeader, parseFrame, planChunks, Reassembler } from "./chunking.js";
import { PLAINTEXT_HEADROOM } from "./envelope.js";
import { sha512 } from "./hashing.js";
import { thrownCode } from "./testing/thrown-code.js";

function frames(payload: Uint8Array, maxData: number, transferId = 1, mutate?: (h: FrameHeader) => void) {
  const { count, chunkSize } = planChunks(payload.length, maxData);
  const h: FrameHeader = {
    flags: 0,
    transferId,
    index: 0,
    count,
    totalSize: payload.length,
    hash: sha512(payload),
    signature: new Uint8Array(64),
  };
  mutate?.(h);
  return Array.from({ length: count }, (_, i) =>
    buildChunk(payload, h, i, chunkSize).subarray(PLAINTEXT_HEADROOM),
  );
}

describe("chunking", () => {
  it("plans chunks that never exceed the limit and are never empty", () => {
    for (const [total, max] of [
      [1, 10],
      [10, 4],
      [1000, 7],
      [1 << 20, 65536],
      [65537, 65536],
    ] as const) {
      const { count, chunkSize } = planChunks(total, max);
      assert.ok(chunkSize <= max);
      assert.ok((count - 1) * chunkSize < total && count * chunkSize >= total);
    }
  });

  it("reassembles in any order, with duplicates ignored", () => {
    const payload = nacl.randomBytes(10_000);
    const fs = frames(payload, 999);
    const r = new Reassembler({ maxMessageBytes: 1 << 20, transferTimeoutMs: 1000 });
    const order = fs.map((_, i) => i).reverse();
    for (const i of order.slice(0, -1)) assert.equal(r.accept(parseFrame(fs[i] as Uint8Array)), undefined);
    assert.equal(r.accept(parseFrame(fs[3] as Uint8Array)), undefined); // duplicate
    const done = r.accept(parseFrame(fs[0] as Uint8Array));
    assert.deepEqual(done?.payload, payload);
    // a late duplicate of a finished transfer is ignored, not a new transfer
    assert.equal(r.accept(parseFrame(fs[2] as Uint8Array)), undefined);
    assert.equal(r.pending, 0);
  });

  it("rejects a declared size over the limit before allocating (E_TOO_LARGE)", () => {
    const r = new Reassembler({ maxMessageBytes: 1000, transferTimeoutMs: 1000 });
    const fs = frames(nacl.randomBytes(100), 50, 1, (h) => {
      h.totalSize = 0xffffffff;
      h.count = 2;
    });
    assert.equal(
      thrownCode(() => r.accept(parseFrame(fs[0] as Uint8Array))),
      "E_TOO_LARGE",
    );
    // two transfers that each fit but not together
    const r2 = new Reassembler({ maxMessageBytes: 1000, transferTimeoutMs: 1000 });
    r2.accept(parseFrame(frames(nacl.randomBytes(800), 400, 1)[0] as Uint8Array));
    assert.equal(
      thrownCode(() => r2.accept(parseFrame(frames(nacl.randomBytes(800), 400, 2)[0] as Uint8Array))),
      "E_TOO_LARGE",
    );
  });

  it("rejects truncated chunks, inconsistent headers and a bad hash (E_CHUNK)", () => {
    const payload = nacl.randomBytes(1000);
    const fs = frames(payload, 300);
    const r = new Reassembler({ maxMessageBytes: 1 << 20, transferTimeoutMs: 1000 });
    assert.equal(
      thrownCode(() => r.accept(parseFrame((fs[1] as Uint8Array).subarray(0, 200)))),
      "E_CHUNK",
    );
    assert.equal(
      thrownCode(() => parseFrame((fs[1] as Uint8Array).subarray(0, 100))),
      "E_CHUNK",
    );
    const other = frames(payload, 300, 5);
    const r2 = new Reassembler({ maxMessageBytes: 1 << 20, transferTimeoutMs: 1000 });
    r2.accept(parseFrame(other[0] as Uint8Array));
    const inconsistent = frames(payload, 300, 5, (h) => {
      h.hash = sha512(new Uint8Array(1));
    });
    assert.equal(
      thrownCode(() => r2.accept(parseFrame(inconsistent[1] as Uint8Array))),
      "E_CHUNK",
    );
    const wrongHash = frames(payload, 300, 6, (h) => {
      h.hash = sha512(new Uint8Array(1));
    });
    const r3 = new Reassembler({ maxMessageBytes: 1 << 20, transferTimeoutMs: 1000 });
    for (const f of wrongHash.slice(0, -1)) r3.accept(parseFrame(f));
    assert.equal(
      thrownCode(() => r3.accept(parseFrame(wrongHash.at(-1) as Uint8Array))),
      "E_CHUNK",
    );
    const badIndex = (fs[0] as Uint8Array).slice();
    new DataView(badIndex.buffer).setUint32(8, 99);
    assert.equal(
      thrownCode(() => parseFrame(badIndex)),
      "E_CHUNK",
    );
  });

  it("expires a transfer with a missing chunk and names the chunk (E_CHUNK)", () => {
    let now = 0;
    const r = new Reassembler({ maxMessageBytes: 1 << 20, transferTimeoutMs: 100, now: () => now });
    const fs = frames(nacl.randomBytes(1000), 300);
    for (const i of [0, 1, 3]) r.accept(parseFrame(fs[i] as Uint8Array));
    now = 50;
    assert.deepEqual(r.expire(), []);
    now = 200;
    const [err] = r.expire();
    assert.equal(err?.code, "E_CHUNK");
    assert.deepEqual(err?.details?.missing, [2]);
    assert.equal(r.pending, 0);
  });
});
