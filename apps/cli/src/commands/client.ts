import { join, resolve } from "node:path";
import { toEventLogger } from "@memarc/ops";
import { initBackend } from "@memarc/tensor";
import type { Command } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";
import { rateReporter } from "../cli/rate.js";
import { THREADS_OPTION } from "../cli/threads.js";
import {
  LOG_OPTION,
  readIdentity,
  readLogger,
  readModelDir,
  readPem,
  readPublicKey,
} from "../federation/common.js";
import { loadNodeData } from "../federation/data-spec.js";
import { createNodeRunner } from "../federation/node-host.js";

/** Default ceiling on a node's ε: above any run's default budget, so only a runaway run hits it. */
const DEFAULT_MAX_EPSILON = 10;

/** ws(s):// or http(s):// host:port; anything else is a usage error now, not a retry loop later. */
function readCoordinatorUrl(v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new UsageError(`--coordinator: not a URL: "${v}" (expected ws://host:port or wss://host:port)`);
  }
  if (!["ws:", "wss:", "http:", "https:"].includes(u.protocol))
    throw new UsageError(`--coordinator: unsupported scheme "${u.protocol}" (expected ws:// or wss://)`);
  if (!u.hostname) throw new UsageError(`--coordinator: "${v}" names no host`);
  return v.replace(/^ws(s?):\/\//, "http$1://");
}

function readMaxEpsilon(v: string | undefined): number | null {
  if (v === undefined) return DEFAULT_MAX_EPSILON;
  if (v === "inf") return null;
  const e = Number(v);
  if (!(e > 0) || !Number.isFinite(e))
    throw new UsageError(`--max-epsilon: expected a positive number or inf, got "${v}"`);
  return e;
}

export const clientCommand: Command = {
  name: "client",
  summary: "join a coordinator as a node: train locally with DP-SGD and send signed, encrypted updates",
  details:
    "Connects to --coordinator (pinning --coordinator-key), trains every round task on --data with the\n" +
    "local DP-SGD engine under the dictated settings, and sends the update. The node keeps its own\n" +
    "accountant (persisted in --state before each update leaves) and refuses any task beyond\n" +
    "--max-epsilon, with a δ above --delta, or without local noise (unless --accept-central-dp).\n" +
    "It sends no loss, accuracy or example count: only noised updates and noised evaluations.\n" +
    "Reconnects with backoff when the coordinator restarts; exits when the run is over.\n\n" +
    "Example: memarc client --coordinator ws://10.0.0.5:7700 --coordinator-key coord.pub --key node.key \\\n" +
    "           --data spam-assassin:iid:0/3",
  options: {
    coordinator: {
      type: "string",
      value: "URL",
      description: "coordinator address, ws://host:port or wss://host:port",
    },
    "coordinator-key": {
      type: "string",
      value: "KEY",
      description: "coordinator public key (base64/hex) or a file holding it",
    },
    key: { type: "string", value: "FILE", description: "this node's identity key file" },
    data: {
      type: "string",
      value: "SPEC",
      description: "spam-assassin:<iid|natural|dirichlet:α>:<i>/<n>, or a .jsonl/.csv file",
    },
    model: {
      type: "string",
      value: "DIR",
      description:
        "backbone directory, GPT-2, BERT or RoBERTa (default: the bundled all-MiniLM-L6-v2 encoder)",
    },
    "join-token": { type: "string", value: "T", description: "token for a coordinator with open enrolment" },
    ca: {
      type: "string",
      value: "FILE",
      description: "PEM certificate to trust for wss:// (self-signed coordinators)",
    },
    "max-epsilon": {
      type: "string",
      value: "E",
      description: "this node's own ε ceiling for its data, at the run's δ (default 10; inf: no ceiling)",
    },
    delta: { type: "string", value: "D", description: "the largest δ this node accepts (default 1e-5)" },
    "accept-central-dp": {
      type: "boolean",
      description:
        "NOT PRIVATE against the coordinator: also take user-level tasks without local noise, trusting the coordinator to add it",
    },
    state: {
      type: "string",
      value: "DIR",
      description: "persist the node's accountant here across restarts",
    },
    "feature-cache": {
      type: "string",
      value: "DIR",
      description: "cache frozen-backbone features here (side)",
    },
    ...THREADS_OPTION,
    ...LOG_OPTION,
  },
  async run({ flags, out }) {
    const url = readCoordinatorUrl(flags.requireString("coordinator"));
    const coordinatorKey = readPublicKey("coordinator-key", flags.requireString("coordinator-key"));
    const identity = readIdentity("key", flags.requireString("key"));
    const data = loadNodeData(flags.requireString("data"));
    const logger = readLogger(flags, "client");
    const backend = await initBackend({ log: (l) => out.progress(l) });
    const stateDir = flags.string("state");
    const caPath = flags.string("ca");
    const ca = caPath ? readPem("ca", caPath, "certificate") : null;
    const ctl = new AbortController();
    const stop = () => ctl.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    out.progress(
      `node ${data.name}: ${data.train.labels.length} training and ${data.heldOut.labels.length} held-out examples`,
    );
    const runner = createNodeRunner({
      url,
      identity,
      coordinatorKey,
      ...(flags.string("join-token") ? { joinToken: flags.string("join-token")! } : {}),
      ...(ca ? { ca } : {}),
      data,
      ...(flags.string("model") ? { modelDir: readModelDir(flags, "side")! } : {}),
      backend: backend.name,
      policy: {
        maxEpsilon: readMaxEpsilon(flags.string("max-epsilon")),
        maxDelta: flags.number("delta", { gt: 0, lt: 1 }) ?? 1e-5,
        acceptCentralDp: flags.bool("accept-central-dp"),
      },
      ...(stateDir ? { accountantPath: join(resolve(stateDir), "accountant.json") } : {}),
      ...(flags.string("feature-cache") ? { featureCacheDir: resolve(flags.string("feature-cache")!) } : {}),
      threads: flags.int("threads", { min: 1, max: 64 })!,
      log: (l) => out.progress(l),
      onPrepare: rateReporter("frozen-backbone features", (l) => out.progress(l), {
        terminal: out.terminal(),
      }),
      logger: toEventLogger(logger),
      signal: ctl.signal,
      onEvent: (e) => {
        if (e.type === "step" && (e.step === e.steps || e.step % 10 === 0))
          out.progress(`round ${e.round}: step ${e.step}/${e.steps}, local loss ${e.loss.toFixed(4)}`);
        else if (e.type === "round")
          out.progress(`round ${e.round}: update sent, local ε ${e.epsilon?.toFixed(3) ?? "—"}`);
        else if (e.type === "evaluated")
          out.progress(`round ${e.round}: private evaluation sent, local ε ${e.epsilon?.toFixed(3) ?? "—"}`);
        else if (e.type === "refused") out.progress(`round ${e.round}: refused (${e.code}): ${e.message}`);
        else if (e.type === "disconnected") out.progress(`disconnected (${e.reason}); reconnecting`);
        else if (e.type === "connected") out.progress("connected to coordinator");
      },
    });
    try {
      const s = await runner.run();
      out.result(
        { ...s, node: data.name },
        () => `run finished (${s.reason}): ${s.roundsTrained} round(s) trained, local ε ${s.epsilon ?? "—"}`,
      );
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
  },
};
