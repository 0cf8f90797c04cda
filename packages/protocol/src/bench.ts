/**
 * The protocol benchmark behind `memarc bench protocol`: the full seal/open path of a large update against
 * raw nacl.secretbox on the same bytes, and a loopback transfer through socket.io with chunking.
 */
import nacl from "tweetnacl";
import { ClientChannel } from "./client-channel.js";
import { encodeMessage } from "./codec.js";
import { AllowList, generateIdentity } from "./identity.js";
import { silentLogger } from "./logger.js";
import { DEFAULT_LIMITS, type UpdateMessage } from "./messages.js";
import { ServerChannel } from "./server-channel.js";
import { type ClientSession, SecureSession, type ServerSession } from "./session.js";
import { DEFAULT_TIMING, type EnvelopeTransport } from "./transfer/transport.js";

export interface ProtocolBenchResult {
  bytes: number;
  sealMBps: number;
  openMBps: number;
  rawSecretboxMBps: number;
  rawSecretboxOpenMBps: number;
  /** rawSecretbox seal time / our seal time (≥ 0.8 is the target). */
  ratio: number;
  openRatio: number;
  transfer16MBMs: number;
  transferMBps: number;
  envelopeBytes: number;
  reps: number;
  node: string;
}

export async function runProtocolBenchmark(
  o: { mb?: number; reps?: number; progress?: (line: string) => void } = {},
): Promise<ProtocolBenchResult> {
  const mb = o.mb ?? 16;
  const reps = o.reps ?? 3;
  const progress = o.progress ?? (() => {});
  const msg = updateOf(mb * 1024 * 1024);
  const encoded = encodeMessage(msg);
  const MB = encoded.length / (1024 * 1024);
  progress(`bench protocol: ${MB.toFixed(2)} MiB encoded update, ${reps} reps`);
  const raw = rawSecretbox(encoded, reps);
  const ours = await sealOpen(msg, reps);
  progress("bench protocol: loopback transfer…");
  const lb = await loopback(msg, reps);
  return {
    bytes: encoded.length,
    sealMBps: round(MB / (ours.sealMs / 1000)),
    openMBps: round(MB / (ours.openMs / 1000)),
    rawSecretboxMBps: round(MB / (raw.sealMs / 1000)),
    rawSecretboxOpenMBps: round(MB / (raw.openMs / 1000)),
    ratio: round(raw.sealMs / ours.sealMs, 3),
    openRatio: round(raw.openMs / ours.openMs, 3),
    transfer16MBMs: round(lb.ms, 1),
    transferMBps: round(MB / (lb.ms / 1000)),
    envelopeBytes: lb.chunkBytes,
    reps,
    node: process.version,
  };
}

function updateOf(bytes: number): UpdateMessage {
  const n = Math.floor(bytes / 4);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i) * 1e-3;
  return {
    type: "update",
    roundId: 1,
    delta: [{ name: "transformer.h.0.mlp.c_fc.weight", shape: [n], data }],
    epsilonSpent: 1.25,
    unclipped: null,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Two sessions over a wire that only records envelopes: measures the crypto/codec path alone. */
async function sealOpen(msg: UpdateMessage, reps: number) {
  const key = nacl.randomBytes(32);
  const node = generateIdentity();
  const limits = { ...DEFAULT_LIMITS };
  const seal: number[] = [];
  const open: number[] = [];
  for (let r = 0; r < reps; r++) {
    const wire: Uint8Array[] = [];
    const t: EnvelopeTransport = {
      send: (env) => {
        wire.push(env);
        return Promise.resolve({ ok: true });
      },
      close() {},
    };
    const n: ClientSession = new SecureSession({
      role: "node",
      key,
      transport: t,
      nodeId: node.publicKey,
      peerKey: node.publicKey,
      identity: node,
      limits,
      logger: silentLogger,
      timing: { ...DEFAULT_TIMING, window: 1 << 20 },
    });
    const c: ServerSession = new SecureSession({
      role: "coordinator",
      key,
      transport: t,
      nodeId: node.publicKey,
      peerKey: node.publicKey,
      limits,
      logger: silentLogger,
    });
    c.expectUpdate(
      1,
      msg.delta.map((d) => ({ name: d.name, shape: d.shape })),
    );
    let got = false;
    c.on("message", () => {
      got = true;
    });
    let t0 = performance.now();
    await n.send(msg);
    seal.push(performance.now() - t0);
    t0 = performance.now();
    for (const env of wire) {
      const ack = c.receive(env);
      if (!ack.ok) throw new Error(`bench: envelope rejected: ${ack.code} ${ack.message}`);
    }
    open.push(performance.now() - t0);
    if (!got) throw new Error("bench: message not delivered");
  }
  return { sealMs: median(seal), openMs: median(open) };
}

function rawSecretbox(bytes: Uint8Array, reps: number) {
  const key = nacl.randomBytes(32);
  const nonce = nacl.randomBytes(24);
  const seal: number[] = [];
  const open: number[] = [];
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    const box = nacl.secretbox(bytes, nonce, key);
    seal.push(performance.now() - t0);
    t0 = performance.now();
    if (!nacl.secretbox.open(box, nonce, key)) throw new Error("bench: raw open failed");
    open.push(performance.now() - t0);
  }
  return { sealMs: median(seal), openMs: median(open) };
}

/**
 * Raw XSalsa20-Poly1305 speed on this core (seal + open of `mb` MiB), bytes per second: the crypto
 * floor any sealed transfer pays, for benchmarks that want to separate it from their own overhead.
 */
export function rawSecretboxBytesPerSecond(mb = 8): number {
  const bytes = new Uint8Array(mb << 20);
  rawSecretbox(bytes.subarray(0, 1 << 20), 1); // warm-up
  const { sealMs, openMs } = rawSecretbox(bytes, 1);
  return (2 * bytes.length) / ((sealMs + openMs) / 1000);
}

async function loopback(msg: UpdateMessage, reps: number) {
  const coord = generateIdentity();
  const node = generateIdentity();
  const server = await ServerChannel.listen({
    identity: coord,
    allowList: new AllowList([node.publicKey]),
    logger: silentLogger,
  });
  try {
    let session: ServerSession | undefined;
    server.on("session", (s) => {
      session = s;
    });
    const client = await ClientChannel.connect({
      url: server.url,
      identity: node,
      coordinatorKey: coord.publicKey,
      capabilities: { backend: "cpu", memoryBytes: 0, schemes: ["full"] },
      logger: silentLogger,
    });
    const s = session as ServerSession;
    const times: number[] = [];
    for (let r = 0; r < reps + 1; r++) {
      s.expectUpdate(
        msg.roundId,
        msg.delta.map((d) => ({ name: d.name, shape: d.shape })),
      );
      const arrived = s.next("update");
      const t0 = performance.now();
      await Promise.all([client.send(msg), arrived]);
      if (r > 0) times.push(performance.now() - t0); // first run warms up the JIT
    }
    await client.bye("bench done");
    return { ms: median(times), chunkBytes: DEFAULT_LIMITS.maxEnvelopeBytes };
  } finally {
    await server.close();
  }
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
