import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { toEventLogger } from "@memarc/ops";
import { loadKeyFile } from "@memarc/protocol";
import { initBackend } from "@memarc/tensor";
import type { Command } from "../cli/command.js";
import { LOG_OPTION, readLogger, readModelDir, readPublicKey } from "../federation/common.js";
import { loadNodeData } from "../federation/data-spec.js";
import { createNodeRunner } from "../federation/node-host.js";

export const clientCommand: Command = {
  name: "client",
  summary: "join a coordinator as a node: train locally with DP-SGD and send signed, encrypted updates",
  details:
    "Connects to --coordinator (pinning --coordinator-key), trains every round task on --data with the\n" +
    "local DP-SGD engine under the dictated settings, and sends the update. The node keeps its own\n" +
    "accountant (persisted in --state before each update leaves) and refuses tasks beyond --max-epsilon.\n" +
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
      description: "backbone directory (default: the bundled backbone)",
    },
    "join-token": { type: "string", value: "T", description: "token for a coordinator with open enrolment" },
    ca: {
      type: "string",
      value: "FILE",
      description: "PEM certificate to trust for wss:// (self-signed coordinators)",
    },
    "max-epsilon": { type: "string", value: "E", description: "this node's own ε ceiling for its data" },
    delta: { type: "string", value: "D", description: "δ for the node's own accountant (default 1e-5)" },
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
    ...LOG_OPTION,
  },
  async run({ flags, out }) {
    const url = flags.requireString("coordinator").replace(/^ws(s?):\/\//, "http$1://");
    const coordinatorKey = readPublicKey("coordinator-key", flags.requireString("coordinator-key"));
    const identity = loadKeyFile(resolve(flags.requireString("key")));
    const data = loadNodeData(flags.requireString("data"));
    const logger = readLogger(flags, "client");
    const backend = await initBackend({ log: (l) => out.progress(l) });
    const stateDir = flags.string("state");
    const caPath = flags.string("ca");
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
      ...(caPath ? { ca: readFileSync(resolve(caPath), "utf8") } : {}),
      data,
      ...(flags.string("model") ? { modelDir: readModelDir(flags, "side")! } : {}),
      backend: backend.name,
      maxEpsilon: flags.number("max-epsilon", { gt: 0 }) ?? null,
      delta: flags.number("delta", { gt: 0, lt: 1 }) ?? 1e-5,
      ...(stateDir ? { accountantPath: join(resolve(stateDir), "accountant.json") } : {}),
      ...(flags.string("feature-cache") ? { featureCacheDir: resolve(flags.string("feature-cache")!) } : {}),
      logger: toEventLogger(logger),
      signal: ctl.signal,
      onEvent: (e) => {
        if (e.type === "round")
          out.progress(
            `round ${e.round}: ${e.steps} steps, loss ${e.loss.toFixed(4)}, local ε ${e.epsilon?.toFixed(3) ?? "—"}`,
          );
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
