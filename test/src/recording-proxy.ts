/**
 * A TCP proxy that records every byte a browser sends through it, for "nothing of the file leaves
 * the page" tests. HTTP requests are kept as sent; WebSocket frames (client → server frames are
 * masked, RFC 6455 §5.3) are unmasked so their payloads can be searched too.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface RecordingProxy {
  /** Every byte clients sent, as sent (HTTP requests, then masked WebSocket frames). */
  sent(): Buffer;
  /** Unmasked payloads of the WebSocket frames clients sent. */
  webSocketPayloads(): Buffer[];
  /** Frames whose payload was compressed (RSV1): their content could not be inspected. */
  compressedFrames(): number;
  close(): Promise<void>;
}

/** Proxy `listenHost:port` → `targetHost:port` (same port number on both sides). */
export async function recordingProxy(
  listenHost: string,
  targetHost: string,
  port: number,
): Promise<RecordingProxy> {
  const chunks: Buffer[] = [];
  const streams: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, targetHost);
    sockets.add(client).add(upstream);
    const mine: Buffer[] = [];
    client.on("data", (d: Buffer) => {
      chunks.push(d);
      mine.push(d);
      upstream.write(d);
    });
    upstream.on("data", (d) => client.write(d));
    const end = () => {
      streams.push(Buffer.concat(mine));
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", () => client.destroy());
    client.on("error", () => {});
    upstream.on("error", () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, listenHost, resolve);
  });
  let compressed = 0;
  return {
    sent: () => Buffer.concat(chunks),
    webSocketPayloads() {
      compressed = 0;
      const out: Buffer[] = [];
      for (const s of streams) {
        const head = s.indexOf("\r\n\r\n");
        if (
          head < 0 ||
          !/^GET [^\r]*\r\n(?:[^\r]*\r\n)*upgrade: websocket/im.test(s.subarray(0, head).toString("latin1"))
        )
          continue;
        let at = head + 4;
        while (at + 2 <= s.length) {
          const b0 = s[at]!;
          const b1 = s[at + 1]!;
          let len = b1 & 0x7f;
          let p = at + 2;
          if (len === 126) {
            len = s.readUInt16BE(p);
            p += 2;
          } else if (len === 127) {
            len = Number(s.readBigUInt64BE(p));
            p += 8;
          }
          const masked = (b1 & 0x80) !== 0;
          const mask = masked ? s.subarray(p, p + 4) : null;
          if (masked) p += 4;
          if (p + len > s.length) break;
          const payload = Buffer.from(s.subarray(p, p + len));
          if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
          if (b0 & 0x40) compressed++;
          out.push(payload);
          at = p + len;
        }
      }
      return out;
    },
    compressedFrames: () => compressed,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
