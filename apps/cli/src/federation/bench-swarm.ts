/**
 * Load for `memarc bench coordinator`: many lightweight nodes that speak the real protocol — the
 * Ed25519/X25519 handshake, msgpack, SHA-512 + signature on every update, chunking, XSalsa20-Poly1305
 * — but do no training: each answers a round task at once with an update of the task's shapes.
 *
 * Runs in a child process of the benchmark (so the coordinator's CPU time and RSS are its own), and
 * spreads its nodes over worker threads: `node bench-swarm.js` receives its plan over IPC, starts the
 * workers on this same file, reports when every node is connected, and exits when the run ends.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import {
  type Capabilities,
  ClientChannel,
  type ClientSession,
  type CoordinatorMessage,
  type Identity,
  parsePublicKey,
  silentLogger,
} from "@memarc/protocol";

export interface SwarmPlan {
  url: string;
  /** The coordinator's public key, base64. */
  coordinatorKey: string;
  /** Each node's Ed25519 secret key (64 bytes, base64); its public key is the last 32 bytes. */
  secretKeys: string[];
  workers: number;
}

/** Messages from the swarm process to the benchmark. */
export type SwarmReport = { type: "connected"; nodes: number } | { type: "failed"; message: string };

const CAPABILITIES: Capabilities = { backend: "bench", memoryBytes: 1 << 30, schemes: ["logreg"] };
/** Handshakes in flight per worker: enough to keep the coordinator busy, few enough not to time out. */
const CONNECT_CONCURRENCY = 16;

function identityOf(secretKey: string): Identity {
  const sk = new Uint8Array(Buffer.from(secretKey, "base64"));
  return { secretKey: sk, publicKey: sk.slice(32) };
}

/** One node: connect (retrying while the coordinator is busy), then answer every round task. */
async function connectNode(
  url: string,
  coordinatorKey: Uint8Array,
  identity: Identity,
): Promise<ClientSession> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ClientChannel.connect({
        url,
        identity,
        coordinatorKey,
        capabilities: CAPABILITIES,
        logger: silentLogger,
        timing: { handshakeTimeoutMs: 60_000 },
      });
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

async function serve(session: ClientSession): Promise<void> {
  for (;;) {
    let m: CoordinatorMessage;
    try {
      m = await session.next();
    } catch {
      return; // closed: the run is over (or the coordinator went away)
    }
    if (m.type === "bye") return;
    if (m.type !== "round_task") continue;
    // An update of the task's shapes: small values, as a clipped update would have.
    const delta = m.weights.map((t) => ({
      name: t.name,
      shape: [...t.shape],
      data: new Float32Array(t.data.length).fill(1e-4),
    }));
    await session.send({ type: "update", roundId: m.roundId, delta, epsilonSpent: 0, unclipped: null });
  }
}

async function runWorker(o: { url: string; coordinatorKey: string; secretKeys: string[] }): Promise<void> {
  const key = parsePublicKey(o.coordinatorKey);
  if (!key) throw new Error("bench swarm: bad coordinator key");
  const sessions: ClientSession[] = [];
  let next = 0;
  const lane = async () => {
    while (next < o.secretKeys.length) {
      const sk = o.secretKeys[next++]!;
      sessions.push(await connectNode(o.url, key, identityOf(sk)));
    }
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, lane));
  parentPort!.postMessage({ type: "connected", nodes: sessions.length });
  await Promise.all(sessions.map(serve));
  parentPort!.postMessage({ type: "done" });
}

async function runSwarm(plan: SwarmPlan): Promise<void> {
  const report = (r: SwarmReport) => process.send?.(r);
  const slices = Array.from({ length: plan.workers }, (_, w) =>
    plan.secretKeys.filter((_, i) => i % plan.workers === w),
  ).filter((s) => s.length > 0);
  let connected = 0;
  const finished = slices.map(
    (secretKeys) =>
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL(import.meta.url), {
          workerData: { url: plan.url, coordinatorKey: plan.coordinatorKey, secretKeys },
        });
        worker.on("message", (m: { type: string; nodes?: number }) => {
          if (m.type === "connected") {
            connected += m.nodes ?? 0;
            if (connected === plan.secretKeys.length) report({ type: "connected", nodes: connected });
          }
        });
        worker.on("error", reject);
        worker.on("exit", () => resolve());
      }),
  );
  try {
    await Promise.all(finished);
  } catch (err) {
    report({ type: "failed", message: (err as Error).message });
    process.exitCode = 1;
  }
}

if (!isMainThread && parentPort && (workerData as { secretKeys?: unknown })?.secretKeys) {
  await runWorker(workerData as { url: string; coordinatorKey: string; secretKeys: string[] });
  process.exit(0);
} else if (isMainThread && process.send) {
  process.once("message", (plan: SwarmPlan) => {
    void runSwarm(plan).then(() => process.exit());
  });
}
