/**
 * The browser node's training Worker: the same NodeRunner, model factory and DP-SGD engine as
 * `memarc client`, on the tfjs backend that loads here. The person's file arrives by postMessage
 * from the page and never leaves this Worker except as the noised, sealed updates NodeRunner sends;
 * the accountant is persisted to IndexedDB before each of them leaves.
 */
import { parseUserData, userDataToDataset } from "@memarc/data";
import { finetuneModelFactory, HELD_OUT_FRACTION, type NodeEvent, NodeRunner } from "@memarc/federation";
import { type Logger, parsePublicKey } from "@memarc/protocol";
import { initBackend } from "@memarc/tensor";
import { type Backbone, FINETUNE_SCHEMES, holdoutSplit, secureTrainingRandom } from "@memarc/train";
import { fetchBackbone } from "./backbone-fetch.js";
import type { JoinRequest, ToWorker, WorkerStatus } from "./messages.js";
import { nodeIdentity } from "./node-key.js";
import { labelClasses } from "./run-info.js";
import { indexedDbAccountantStore, openNodeDatabase } from "./store.js";

const scope = globalThis as unknown as {
  postMessage(m: WorkerStatus): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
};
const post = (m: WorkerStatus) => scope.postMessage(m);
const leave = new AbortController();
let joined = false;

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === "leave") leave.abort();
  else if (m.type === "join" && !joined) {
    joined = true;
    join(m).catch((err: unknown) => {
      const e = err as { code?: string; message?: string };
      post({ type: "error", code: e.code ?? "E_NODE", message: e.message ?? String(err) });
    });
  }
};

/** Protocol warnings go to the console: they stay on this device, like a CLI node's log. */
const consoleLogger: Logger = {
  info: () => {},
  warn: (event, fields) => console.warn(`memarc/protocol ${event}`, fields ?? {}),
  error: (event, fields) => console.error(`memarc/protocol ${event}`, fields ?? {}),
};

function describe(e: NodeEvent): WorkerStatus | null {
  switch (e.type) {
    case "connected":
      return { type: "connected" };
    case "disconnected":
      return { type: "disconnected", reason: e.reason };
    case "step":
      return { type: "step", round: e.round, step: e.step, steps: e.steps };
    case "round":
      return { type: "round", round: e.round, epsilon: e.epsilon };
    case "evaluated":
      return { type: "evaluated", round: e.round, epsilon: e.epsilon };
    case "refused":
      return { type: "refused", round: e.round, code: e.code, message: e.message };
    case "finished":
      return null; // reported with the summary
  }
}

async function join(m: JoinRequest): Promise<void> {
  const { run } = m;
  const coordinatorKey = parsePublicKey(run.coordinatorKey);
  if (!coordinatorKey)
    throw Object.assign(new Error("run.json: bad coordinator key"), { code: "E_RUN_INFO" });
  const backend = await initBackend({ backend: m.backend, wasmPaths: m.base, log: null });
  post({ type: "backend", name: backend.name, provider: backend.provider, skipped: backend.skipped });

  const classes = labelClasses(run);
  const parsed = userDataToDataset(parseUserData(m.file.name, m.file.text, classes ? { classes } : {}));
  const { train, holdout } = holdoutSplit({ texts: parsed.texts, labels: parsed.labels }, HELD_OUT_FRACTION);
  let backbone: Promise<Backbone> | undefined;
  const db = await openNodeDatabase(m.database);
  const runner = new NodeRunner({
    url: run.url,
    identity: nodeIdentity(m.nodeKey),
    coordinatorKey,
    ...(m.joinToken ? { joinToken: m.joinToken } : {}),
    capabilities: {
      backend: backend.name,
      memoryBytes: Math.round(((navigator as { deviceMemory?: number }).deviceMemory ?? 0) * 2 ** 30),
      schemes: [...FINETUNE_SCHEMES],
    },
    model: finetuneModelFactory({
      data: { train, heldOut: holdout, numClasses: run.classNames.length },
      backbone: () => {
        if (!backbone) {
          post({ type: "status", text: "downloading the backbone" });
          backbone = fetchBackbone(run.model, m.base);
        }
        return backbone;
      },
      // Several wasm engines can share the cores; one GPU cannot usefully be split this way.
      threads: () => (backend.name === "wasm" || backend.name === "cpu" ? m.threads : 1),
      onPrepare: (done, total) => post({ type: "prepare", done, total }),
      log: (text) => post({ type: "status", text }),
    }),
    random: secureTrainingRandom(),
    policy: { maxEpsilon: m.maxEpsilon, maxDelta: m.maxDelta, acceptCentralDp: m.acceptCentralDp },
    accountantStore: indexedDbAccountantStore(db),
    logger: consoleLogger,
    signal: leave.signal,
    onEvent: (e) => {
      const s = describe(e);
      if (s) post(s);
    },
  });
  post({ type: "status", text: "connecting to the coordinator" });
  try {
    const summary = await runner.run();
    post({
      type: "finished",
      reason: summary.reason,
      roundsTrained: summary.roundsTrained,
      epsilon: summary.epsilon,
    });
  } finally {
    db.close();
  }
}
