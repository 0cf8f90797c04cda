/**
 * `memarc bench coordinator`: how many nodes one coordinator holds. A real coordinator (ServerChannel,
 * SocketNodePool, user-level DP-FedAvg with server-side clipping and CSPRNG noise, ledger, durable
 * state and weights written every round) runs in this process; N protocol-level nodes (real
 * handshake, signing, sealing, chunking — no training; apps/cli/src/federation/bench-swarm.ts) run in
 * a child process over worker threads, so the CPU time and RSS measured here are the coordinator's
 * alone. Every node takes part in every round and answers at once.
 *
 * Per round: wall seconds (dispatch of N tasks → N updates received → aggregate → state saved),
 * coordinator CPU seconds, peak RSS, bytes in/out. The crypto floor of a round is the time one core
 * needs to seal the N tasks and open the N updates with raw XSalsa20-Poly1305 at the speed measured
 * at start-up; `cpuBeyondCryptoSeconds` is what the coordinator spends on top of it.
 */
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  accountantFactory,
  Coordinator,
  FedAvg,
  localOptimizationFor,
  PrivacyLedger,
  ServerSgd,
  SocketNodePool,
  safetensorsWeightsCodec,
  secureMechanismRandom,
  UserLevelDp,
} from "@memarc/federation";
import { StateStore } from "@memarc/federation/node";
import { AllowList, generateIdentity, nodeIdString, silentLogger } from "@memarc/protocol";
import { rawSecretboxBytesPerSecond, ServerChannel } from "@memarc/protocol/node";
import type { Command } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";
import type { SwarmPlan, SwarmReport } from "../federation/bench-swarm.js";

interface RoundMeasure {
  seconds: number;
  cpuSeconds: number;
  peakRssMB: number;
  bytesIn: number;
  bytesOut: number;
}

export interface CoordinatorBenchResult {
  nodes: number;
  updateFloats: number;
  rounds: number;
  connectSeconds: number;
  roundSecondsP50: number;
  roundSecondsP95: number;
  cpuSecondsPerRound: number;
  cryptoFloorSeconds: number;
  cpuBeyondCryptoSeconds: number;
  peakRssMB: number;
  bytesPerRound: number;
  bytesPerSecond: number;
  perRound: RoundMeasure[];
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
};
const round3 = (x: number) => Math.round(x * 1000) / 1000;

export async function benchCoordinator(o: {
  nodes: number;
  updateFloats: number;
  rounds: number;
  workers: number;
  progress: (line: string) => void;
}): Promise<CoordinatorBenchResult> {
  const cryptoRate = rawSecretboxBytesPerSecond();
  const coordinatorId = generateIdentity();
  const nodeIds = Array.from({ length: o.nodes }, () => generateIdentity());
  const stateDir = mkdtempSync(join(tmpdir(), "memarc-bench-coord-"));
  const server = await ServerChannel.listen({
    identity: coordinatorId,
    allowList: new AllowList(nodeIds.map((n) => n.publicKey)),
    host: "127.0.0.1",
    port: 0,
    logger: silentLogger,
    // Every swarm node connects from 127.0.0.1: lift the per-address cap (HTTP_DEFAULTS, 128) for them.
    http: { maxConnectionsPerAddress: o.nodes + 16 },
  });
  let bytesIn = 0;
  let bytesOut = 0;
  const shapes = { w: [o.updateFloats] };
  const pool = new SocketNodePool(server, shapes, 1e-5, {
    bytesIn: (n) => {
      bytesIn += n;
    },
    bytesOut: (n) => {
      bytesOut += n;
    },
  });
  const strategy = new UserLevelDp(new FedAvg({ localDp: null }), {
    noiseMultiplier: 1,
    sampleRate: 1,
    updateClip: 1,
    adaptive: null,
    random: secureMechanismRandom(),
  });
  const perRound: RoundMeasure[] = [];
  let roundStart: { t: number; cpu: NodeJS.CpuUsage; bytesIn: number; bytesOut: number } | null = null;
  let peakRss = 0;
  let roundPeakRss = 0;
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    peakRss = Math.max(peakRss, rss);
    roundPeakRss = Math.max(roundPeakRss, rss);
  }, 50);
  const coordinator = new Coordinator(
    {
      rounds: o.rounds,
      minNodes: o.nodes,
      waitForNodesMs: 30 * 60_000,
      roundTimeoutMs: 30 * 60_000,
      evaluateEvery: 0,
      federatedEvaluation: null,
      budget: { epsilon: 1e6, delta: 1e-5 },
      governs: "user",
      training: localOptimizationFor("logreg", { steps: 1 }),
      fingerprint: "bench-coordinator",
    },
    {
      strategy,
      optimizer: new ServerSgd(1),
      ledger: new PrivacyLedger(accountantFactory("rdp")),
      store: new StateStore(stateDir, safetensorsWeightsCodec),
      pool,
      initialWeights: { w: new Float32Array(o.updateFloats) },
      onEvent: (e) => {
        if (e.type === "round-start") {
          roundPeakRss = process.memoryUsage.rss();
          roundStart = { t: performance.now(), cpu: process.cpuUsage(), bytesIn, bytesOut };
        } else if (e.type === "round-end" && roundStart) {
          const cpu = process.cpuUsage(roundStart.cpu);
          const m: RoundMeasure = {
            seconds: round3((performance.now() - roundStart.t) / 1000),
            cpuSeconds: round3((cpu.user + cpu.system) / 1e6),
            peakRssMB: Math.round(roundPeakRss / 2 ** 20),
            bytesIn: bytesIn - roundStart.bytesIn,
            bytesOut: bytesOut - roundStart.bytesOut,
          };
          perRound.push(m);
          o.progress(
            `round ${e.record.round}/${o.rounds}: ${m.seconds} s, coordinator CPU ${m.cpuSeconds} s, RSS ${m.peakRssMB} MB`,
          );
        }
      },
    },
    { resume: false },
  );

  const swarm = fork(fileURLToPath(new URL("../federation/bench-swarm.js", import.meta.url)), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const t0 = performance.now();
  const connected = new Promise<void>((resolve, reject) => {
    swarm.on("message", (r: SwarmReport) => {
      if (r.type === "connected") resolve();
      else reject(new Error(`bench swarm: ${r.message}`));
    });
    swarm.on("exit", (code) => reject(new Error(`bench swarm exited (${code}) before every node joined`)));
  });
  const plan: SwarmPlan = {
    url: server.url,
    coordinatorKey: nodeIdString(coordinatorId.publicKey),
    secretKeys: nodeIds.map((n) => Buffer.from(n.secretKey).toString("base64")),
    workers: o.workers,
  };
  swarm.send(plan);
  try {
    const joining = setInterval(() => o.progress(`nodes connected: ${pool.nodes().length}/${o.nodes}`), 5000);
    try {
      await connected;
    } finally {
      clearInterval(joining);
    }
    const connectSeconds = (performance.now() - t0) / 1000;
    o.progress(`${o.nodes} nodes connected in ${connectSeconds.toFixed(1)} s`);
    const summary = await coordinator.run();
    if (summary.completedRound !== o.rounds)
      throw new Error(`bench: run stopped after ${summary.completedRound} rounds (${summary.stopReason})`);
    const seconds = perRound.map((r) => r.seconds);
    const cpu = perRound.reduce((s, r) => s + r.cpuSeconds, 0) / perRound.length;
    const bytes = perRound.reduce((s, r) => s + r.bytesIn + r.bytesOut, 0) / perRound.length;
    const cryptoFloor = bytes / cryptoRate;
    return {
      nodes: o.nodes,
      updateFloats: o.updateFloats,
      rounds: o.rounds,
      connectSeconds: round3(connectSeconds),
      roundSecondsP50: quantile(seconds, 0.5),
      roundSecondsP95: quantile(seconds, 0.95),
      cpuSecondsPerRound: round3(cpu),
      cryptoFloorSeconds: round3(cryptoFloor),
      cpuBeyondCryptoSeconds: round3(cpu - cryptoFloor),
      peakRssMB: Math.round(peakRss / 2 ** 20),
      bytesPerRound: Math.round(bytes),
      bytesPerSecond: Math.round(bytes / quantile(seconds, 0.5)),
      perRound,
    };
  } finally {
    clearInterval(sampler);
    swarm.kill();
    await server.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export const benchCoordinatorCommand: Command = {
  name: "coordinator",
  summary: "rounds of N protocol-level nodes on one coordinator: latency, CPU, RSS, bytes",
  details:
    "A real coordinator (user-level DP-FedAvg, clipping + CSPRNG noise, ledger, state and weights saved\n" +
    "every round) in this process; N nodes with the real handshake, signing and sealing but no training\n" +
    "in a child process over worker threads, so CPU and RSS are the coordinator's own. --nodes takes a\n" +
    "comma-separated list (one run each). cryptoFloorSeconds = a round's bytes at raw secretbox speed on\n" +
    "one core; cpuBeyondCryptoSeconds = coordinator CPU per round minus that floor.\n" +
    "Example: memarc bench coordinator --nodes 100,300,1000 --update-floats 100000 --json",
  options: {
    nodes: { type: "string", value: "N[,N…]", description: "nodes per run (default 100)" },
    "update-floats": { type: "string", value: "M", description: "floats per update (default 100000)" },
    rounds: { type: "string", value: "R", description: "rounds per run (default 3)" },
    workers: { type: "string", value: "W", description: "worker threads of the node swarm (default 2)" },
  },
  async run({ flags, out }) {
    const list = (flags.string("nodes") ?? "100").split(",").map((s) => Number(s.trim()));
    if (list.some((n) => !Number.isInteger(n) || n < 1 || n > 10_000))
      throw new UsageError("--nodes: expected integers between 1 and 10000, comma-separated");
    const updateFloats = flags.int("update-floats", { min: 1, max: 50_000_000 }) ?? 100_000;
    const rounds = flags.int("rounds", { min: 1, max: 100 }) ?? 3;
    const workers = flags.int("workers", { min: 1, max: 64 }) ?? 2;
    const results: CoordinatorBenchResult[] = [];
    for (const nodes of list) {
      out.progress(`bench coordinator: ${nodes} nodes × ${updateFloats} floats, ${rounds} rounds`);
      results.push(
        await benchCoordinator({ nodes, updateFloats, rounds, workers, progress: (l) => out.progress(l) }),
      );
    }
    out.result({ results }, () =>
      results
        .map(
          (r) =>
            `${r.nodes} nodes × ${r.updateFloats} floats: round p50 ${r.roundSecondsP50} s, p95 ${r.roundSecondsP95} s; ` +
            `coordinator CPU ${r.cpuSecondsPerRound} s/round (crypto floor ${r.cryptoFloorSeconds} s); ` +
            `peak RSS ${r.peakRssMB} MB; ${(r.bytesPerSecond / 2 ** 20).toFixed(1)} MiB/s`,
        )
        .join("\n"),
    );
  },
};
