import { resolve } from "node:path";
import { loadAllowList } from "@memarc/protocol/node";
import { initBackend } from "@memarc/tensor";
import type { Command } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";
import { watchAllowList } from "../federation/allow-list-watch.js";
import {
  classNamesFor,
  describeEvent,
  LOG_OPTION,
  readIdentity,
  readLogger,
  readModelDir,
  readTestData,
  readTlsPair,
} from "../federation/common.js";
import { startCoordinatorHost } from "../federation/coordinator-host.js";
import { RUN_PLAN_OPTIONS, readRunPlan } from "../federation/run-plan.js";
import { runSummaryJson, runSummaryTable } from "../federation/summary.js";
import { keyFingerprint } from "../web/browser-nodes.js";

export const coordinatorCommand: Command = {
  name: "coordinator",
  summary: "run the coordinator: drive rounds, aggregate DP updates, keep the central privacy accountant",
  details:
    "Listens for nodes (memarc client) over authenticated, encrypted socket.io, runs --rounds rounds of\n" +
    "federated DP fine-tuning, and stops early when the ε budget of the governed unit is spent. State\n" +
    "(global weights, privacy ledger, node registry, history) is persisted atomically after every round;\n" +
    "--resume continues from the last completed round with the ε already spent. See docs/federation-cli.md.\n\n" +
    "Example: memarc coordinator --key coord.key --allow nodes.txt --rounds 5 --epsilon 8 --state run1",
  options: {
    host: {
      type: "string",
      value: "H",
      description: "listen address (default 127.0.0.1; 0.0.0.0 in containers)",
    },
    port: { type: "string", value: "N", description: "port for nodes (default 7700; 0 = any free port)" },
    key: { type: "string", value: "FILE", description: "coordinator identity key file (memarc keygen)" },
    allow: {
      type: "string",
      value: "FILE",
      description: "allow-list of node public keys (re-read when it changes: add a key to approve a node)",
    },
    "open-enrolment": { type: "boolean", description: "admit any node that proves --join-token" },
    "join-token": {
      type: "string",
      value: "T",
      description: "shared secret for open enrolment (≥ 16 chars)",
    },
    "tls-cert": { type: "string", value: "FILE", description: "PEM certificate: serve wss://" },
    "tls-key": { type: "string", value: "FILE", description: "PEM private key for --tls-cert" },
    model: {
      type: "string",
      value: "DIR",
      description:
        "backbone directory, GPT-2, BERT or RoBERTa (default: the bundled all-MiniLM-L6-v2 encoder)",
    },
    classes: { type: "string", value: "N", description: "number of classes (default 2)" },
    "test-data": {
      type: "string",
      value: "SPEC",
      description: "coordinator's own test set: spam-assassin | FILE | none",
    },
    "min-nodes": {
      type: "string",
      value: "N",
      description: "nodes required before a round starts (default 2)",
    },
    "wait-seconds": {
      type: "string",
      value: "S",
      description: "give up if min-nodes are not connected by then (default 120)",
    },
    "round-timeout": {
      type: "string",
      value: "S",
      description: "per-round deadline for updates (default 600)",
    },
    state: { type: "string", value: "DIR", description: "durable state directory (default ./memarc-state)" },
    "max-connections-per-address": {
      type: "string",
      value: "N",
      description:
        "open connections one address may hold on the node port (default 128; raise it for nodes behind one NAT)",
    },
    out: {
      type: "string",
      value: "DIR",
      description: "export the global model to DIR after every round (for predict / eval)",
    },
    resume: { type: "boolean", description: "continue the run in --state from its last completed round" },
    "feature-cache": {
      type: "string",
      value: "DIR",
      description: "cache frozen-backbone features here (side)",
    },
    "dashboard-port": {
      type: "string",
      value: "N",
      description: "live dashboard + /metrics port (default 7701; 0 = free)",
    },
    "dashboard-host": {
      type: "string",
      value: "H",
      description:
        "dashboard address (default 127.0.0.1); anything else needs --dashboard-token (the dashboard shows which nodes took part in each round)",
    },
    "dashboard-token": {
      type: "string",
      value: "T",
      description:
        "token (≥ 16 chars) every dashboard request must carry; also read from MEMARC_DASHBOARD_TOKEN",
    },
    "no-dashboard": { type: "boolean", description: "do not serve the dashboard" },
    "browser-nodes": {
      type: "boolean",
      description:
        "also serve the browser node page at <dashboard>/node/: people join from a web page, their file never leaving it",
    },
    ...RUN_PLAN_OPTIONS,
    ...LOG_OPTION,
  },
  async run({ flags, out }) {
    const plan = readRunPlan(flags);
    const keyPath = flags.requireString("key");
    const identity = readIdentity("key", keyPath);
    const open = flags.bool("open-enrolment");
    const allowPath = flags.string("allow");
    if (!open && !allowPath)
      throw new UsageError("--allow is required (or --open-enrolment with --join-token)");
    if (open && !flags.string("join-token")) throw new UsageError("--open-enrolment needs --join-token");
    const certPath = flags.string("tls-cert");
    const tlsKeyPath = flags.string("tls-key");
    if (!!certPath !== !!tlsKeyPath) throw new UsageError("--tls-cert and --tls-key go together");
    const tls = certPath && tlsKeyPath ? readTlsPair(certPath, tlsKeyPath) : null;
    const host = flags.string("host") ?? "127.0.0.1";
    const logger = readLogger(flags, "coordinator");
    const backend = await initBackend({ log: (l) => out.progress(l) });
    const numClasses = flags.int("classes", { min: 2 }) ?? 2;
    const allowList = allowPath ? loadAllowList(resolve(allowPath)) : undefined;
    const browserNodes = flags.bool("browser-nodes");
    if (browserNodes && flags.bool("no-dashboard"))
      throw new UsageError("--browser-nodes serves its page on the dashboard port: drop --no-dashboard");
    const hostHandle = await startCoordinatorHost({
      plan,
      modelDir: readModelDir(flags, plan.scheme),
      numClasses,
      identity,
      ...(allowList ? { allowList } : {}),
      ...(open ? { openEnrolment: true, joinToken: flags.requireString("join-token") } : {}),
      ...(tls ? { tls } : {}),
      host,
      port: flags.int("port", { min: 0, max: 65535 }) ?? 7700,
      ...(flags.has("max-connections-per-address")
        ? { maxConnectionsPerAddress: flags.int("max-connections-per-address", { min: 1, max: 1_000_000 })! }
        : {}),
      stateDir: resolve(flags.string("state") ?? "memarc-state"),
      resume: flags.bool("resume"),
      minNodes: flags.int("min-nodes") ?? 2,
      waitForNodesMs: 1000 * (flags.number("wait-seconds", { gt: 0 }) ?? 120),
      roundTimeoutMs: 1000 * (flags.number("round-timeout", { gt: 0 }) ?? 600),
      testData: readTestData(flags.string("test-data")),
      ...(flags.string("out")
        ? { modelOut: { dir: resolve(flags.string("out")!), classNames: classNamesFor(flags, numClasses) } }
        : {}),
      ...(flags.string("feature-cache") ? { featureCacheDir: resolve(flags.string("feature-cache")!) } : {}),
      dashboard: flags.bool("no-dashboard")
        ? null
        : {
            host: flags.string("dashboard-host") ?? "127.0.0.1",
            port: flags.int("dashboard-port", { min: 0, max: 65535 }) ?? 7701,
            token: flags.string("dashboard-token") ?? process.env.MEMARC_DASHBOARD_TOKEN,
          },
      ...(browserNodes ? { browserNodes: { classNames: classNamesFor(flags, numClasses) } } : {}),
      logger,
      onEvent: (e) => {
        const line = describeEvent(e, plan.rounds, plan.epsilon, (id) => allowList?.nameOf(id));
        if (line) out.progress(line);
      },
    });
    out.progress(`coordinator listening on ${hostHandle.url} (public key ${hostHandle.publicKey})`);
    if (hostHandle.dashboardUrl)
      out.progress(
        `dashboard: ${hostHandle.dashboardUrl}  metrics: ${new URL("metrics", hostHandle.dashboardUrl).href}`,
      );
    if (browserNodes && hostHandle.dashboardUrl)
      out.progress(
        `browser nodes join at ${new URL("node/", hostHandle.dashboardUrl).href} (key fingerprint ${keyFingerprint(hostHandle.publicKey)})`,
      );
    const stop = () => {
      out.progress("stopping: state is saved after every round; restart with --resume to continue");
      void hostHandle.close().then(() => process.exit(130));
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const watch =
      allowPath && allowList ? watchAllowList(resolve(allowPath), allowList, (l) => out.progress(l)) : null;
    try {
      const summary = await hostHandle.run();
      const result = runSummaryJson(plan, summary, {
        backend: backend.name,
        serverNoise: hostHandle.serverNoise,
        frozenEngine: hostHandle.frozenEngine,
      });
      out.result(result, () => runSummaryTable(result));
      return summary.stopReason === "completed" || summary.stopReason === "budget-exhausted" ? 0 : 1;
    } finally {
      watch?.stop();
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      await hostHandle.close();
    }
  },
};
