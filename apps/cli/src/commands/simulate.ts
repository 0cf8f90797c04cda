import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { parsePartitionSpec, partition } from "@memarc/data";
import { AllowList, generateIdentity } from "@memarc/protocol";
import { initBackend } from "@memarc/tensor";
import type { Command } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";
import { LABELLED_DATA_OPTIONS, readTrainTestData } from "../cli/labelled-data.js";
import { rateReporter } from "../cli/rate.js";
import { describeEvent, LOG_OPTION, readLogger, readModelDir } from "../federation/common.js";
import { startCoordinatorHost } from "../federation/coordinator-host.js";
import { RUN_PLAN_OPTIONS, readRunPlan, trainingSettings } from "../federation/run-plan.js";
import type { SimWorkerData, SimWorkerMessage } from "../federation/sim-worker.js";
import { runSummaryJson, runSummaryTable } from "../federation/summary.js";

export const simulateCommand: Command = {
  name: "simulate",
  summary: "run a coordinator and N nodes on this machine over the real protocol (bundled data or yours)",
  details:
    "Starts a coordinator on 127.0.0.1 and --clients nodes, each holding one partition (--partition)\n" +
    "of the training split of --data, connected over the real authenticated, encrypted socket.io\n" +
    "protocol. Node training runs in --workers worker threads (wasm uses one core per thread). The\n" +
    "coordinator evaluates on the test split (for --data FILE: a held-out part of the file, or\n" +
    "--test-data). Prints progress per round and, with --json, the final\n" +
    'summary {"rounds","clients","scheme","privacyUnit","epsilon","delta","sampleEpsilon","userEpsilon",\n' +
    '"testAccuracy","bytesSent","wallSeconds"}.\n\n' +
    "Nodes never report losses or accuracies; the coordinator's test split measures the model, and\n" +
    "--federated-eval-noise adds private (noised, charged) evaluation on the nodes' held-out data.\n\n" +
    "Example: memarc simulate --clients 3 --rounds 5 --scheme side --epsilon 8 --json",
  options: {
    ...LABELLED_DATA_OPTIONS,
    data: { ...LABELLED_DATA_OPTIONS.data!, default: "spam-assassin" },
    clients: { type: "string", value: "N", description: "number of nodes", default: 3 },
    partition: {
      type: "string",
      value: "P",
      description: "how the training split is dealt to the nodes: iid | dirichlet:α | natural",
      default: "iid",
    },
    workers: {
      type: "string",
      value: "W",
      description: "worker threads for the nodes (default: one per node, at most cores + 1)",
    },
    threads: {
      type: "string",
      value: "N",
      description: "threads for each worker's frozen passes and DP steps (default: cores ÷ workers, ≥ 1)",
    },
    model: {
      type: "string",
      value: "DIR",
      description:
        "backbone directory, GPT-2, BERT or RoBERTa (default: the bundled all-MiniLM-L6-v2 encoder)",
    },
    state: {
      type: "string",
      value: "DIR",
      description: "coordinator state directory, kept (default: a fresh temp dir, removed when the run ends)",
    },
    "feature-cache": {
      type: "string",
      value: "DIR",
      description: "frozen-backbone feature cache (default .memarc-cache/features)",
    },
    "round-timeout": {
      type: "string",
      value: "S",
      description: "per-round deadline in seconds",
      default: 1800,
    },
    "dashboard-port": {
      type: "string",
      value: "N",
      description: "serve the live dashboard on this port (default: off)",
    },
    linger: {
      type: "string",
      value: "S",
      description: "keep the dashboard up S seconds after the run (Ctrl-C ends it)",
    },
    out: {
      type: "string",
      value: "DIR",
      description: "export the global model to DIR after every round (for predict / eval)",
    },
    ...RUN_PLAN_OPTIONS,
    ...LOG_OPTION,
  },
  async run({ flags, out }) {
    const t0 = performance.now();
    const plan = readRunPlan(flags);
    const clients = flags.int("clients", { max: 64 })!;
    // One worker per node (up to the cores plus one): nodes then finish a round together, where
    // three nodes on two workers would leave one worker idle half of every round.
    const workers = Math.min(
      clients,
      flags.int("workers", { max: 16 }) ?? Math.min(clients, availableParallelism() + 1),
    );
    const threadsPerWorker =
      flags.int("threads", { min: 1, max: 64 }) ?? Math.max(1, Math.floor(availableParallelism() / workers));
    const partitionSpec = flags.string("partition")!;
    try {
      parsePartitionSpec(partitionSpec); // before the data loads: a typo fails at once
    } catch (err) {
      throw new UsageError(`${flags.label("partition")}: ${(err as Error).message}`);
    }
    const dataset = readTrainTestData(flags);
    let parts: number[][];
    try {
      // The seed every node of a `client --data NAME:partition:i/n` run uses: the same split either way.
      parts = partition(partitionSpec, dataset.train, clients, { seed: 42 });
    } catch (err) {
      throw new UsageError(`${flags.label("partition")}: ${(err as Error).message}`);
    }
    const modelDir = readModelDir(flags, plan.scheme);
    const featureCacheDir = resolve(flags.string("feature-cache") ?? join(".memarc-cache", "features"));
    const logger = readLogger(flags, "simulate");
    const backend = await initBackend({ log: (l) => out.progress(l) });
    const coordId = generateIdentity();
    const nodeIds = Array.from({ length: clients }, () => generateIdentity());
    const dashboardPort = flags.int("dashboard-port", { min: 0, max: 65535 });

    // Without --state the ledger has no reader once the run is over: a temp dir, removed at the end.
    const tempState = flags.string("state") ? null : mkdtempSync(join(tmpdir(), "memarc-sim-"));
    const dropTempState = () => {
      if (tempState) rmSync(tempState, { recursive: true, force: true });
    };
    const host = await startCoordinatorHost({
      plan,
      modelDir,
      numClasses: dataset.classNames.length,
      identity: coordId,
      allowList: new AllowList(nodeIds.map((n) => n.publicKey)),
      host: "127.0.0.1",
      port: 0,
      stateDir: resolve(flags.string("state") ?? tempState!),
      resume: false,
      minNodes: clients,
      waitForNodesMs: 30 * 60_000,
      roundTimeoutMs: 1000 * flags.number("round-timeout", { gt: 0 })!,
      testData: dataset.test,
      ...(flags.string("out")
        ? { modelOut: { dir: resolve(flags.string("out")!), classNames: dataset.classNames } }
        : {}),
      featureCacheDir,
      dashboard: dashboardPort === undefined ? null : { host: "127.0.0.1", port: dashboardPort },
      log: (l) => out.progress(l),
      onPrepare: rateReporter("coordinator: test-set features", (l) => out.progress(l), {
        terminal: out.terminal(),
      }),
      logger,
      onEvent: (e) => {
        const line = describeEvent(e, plan.rounds, plan.epsilon);
        if (line) out.progress(line);
      },
    }).catch((err: unknown) => {
      dropTempState();
      throw err;
    });
    out.progress(
      `simulating ${clients} node(s) in ${workers} worker(s) on ${host.url}` +
        (host.dashboardUrl ? `; dashboard ${host.dashboardUrl}` : ""),
    );

    const nodeResults: Extract<SimWorkerMessage, { type: "done" }>[] = [];
    const failures: string[] = [];
    const threads = Array.from({ length: workers }, (_, w) => {
      const mine = nodeIds.map((id, i) => ({ id, i })).filter(({ i }) => i % workers === w);
      const data: SimWorkerData = {
        url: host.url,
        coordinatorKey: coordId.publicKey,
        nodes: mine.map(({ id, i }) => ({
          label: `node${i}`,
          publicKey: id.publicKey,
          secretKey: id.secretKey,
          data: {
            name: `${dataset.name}:${partitionSpec}:${i}/${clients}`,
            texts: parts[i]!.map((k) => dataset.train.texts[k]!),
            labels: Int32Array.from(parts[i]!, (k) => dataset.train.labels[k]!),
            numClasses: dataset.classNames.length,
          },
        })),
        modelDir,
        scheme: plan.scheme,
        contextLength: trainingSettings(plan).contextLength,
        delta: plan.delta,
        // Simulated nodes take the run's user-level tasks (their operator is whoever runs simulate).
        acceptCentralDp: plan.localDp === null,
        featureCacheDir,
        backend: backend.name,
        // wasm and ONNX Runtime each use the threads given: share the cores among the workers.
        threads: threadsPerWorker,
      };
      const worker = new Worker(new URL("../federation/sim-worker.js", import.meta.url), {
        workerData: data,
      });
      worker.on("message", (m: SimWorkerMessage) => {
        if (m.type === "progress") out.progress(`  ${m.label}: ${m.line}`);
        else if (m.type === "ready") out.progress(`  ${m.label}: ready (${m.examples} training examples)`);
        else if (m.type === "done") nodeResults.push(m);
        else if (m.type === "failed") {
          failures.push(`${m.label}: ${m.message}`);
          out.error(`  ${m.label} failed: ${m.message}`);
        }
      });
      return new Promise<void>((res) => {
        worker.on("error", (err) => {
          failures.push(`worker ${w}: ${err.message}`);
          res();
        });
        worker.on("exit", () => res());
      });
    });

    try {
      const summary = await host.run();
      await Promise.all(threads);
      const snap = host.monitor.snapshot();
      const result = {
        ...runSummaryJson(plan, summary, {
          backend: backend.name,
          serverNoise: host.serverNoise,
          frozenEngine: host.frozenEngine,
        }),
        clients,
        data: dataset.name,
        partition: partitionSpec,
        nodeFailures: failures,
        bytesSent: snap.bytes.sent + snap.bytes.received,
        wallSeconds: Math.round((performance.now() - t0) / 100) / 10,
      };
      out.result(result, () => runSummaryTable(result));
      const linger = flags.number("linger", { min: 0 }) ?? 0;
      if (linger > 0 && host.dashboardUrl) {
        out.progress(
          `run finished; dashboard stays up at ${host.dashboardUrl} for ${linger} s (Ctrl-C to stop)`,
        );
        await lingerFor(linger * 1000);
      }
      return summary.stopReason === "completed" || summary.stopReason === "budget-exhausted" ? 0 : 1;
    } finally {
      await host.close();
      dropTempState();
    }
  },
};

/** Wait `ms`, or until SIGINT/SIGTERM, whichever comes first. */
function lingerFor(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
}
