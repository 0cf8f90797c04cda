/**
 * A simulator worker thread: its own compute backend (wasm is single-threaded, so each worker uses
 * one core) running several federated nodes, which interleave their training steps.
 */
import { parentPort, workerData } from "node:worker_threads";
import { silentLogger } from "@memarc/protocol";
import { initBackend } from "@memarc/tensor";
import { rateReporter } from "../cli/rate.js";
import { nodeDataFrom } from "./data-spec.js";
import { createNodeRunner } from "./node-host.js";

export interface SimWorkerData {
  url: string;
  coordinatorKey: Uint8Array;
  /** Each node's examples (its partition of the run's training data) and the classes' count. */
  nodes: {
    label: string;
    publicKey: Uint8Array;
    secretKey: Uint8Array;
    data: { name: string; texts: string[]; labels: Int32Array; numClasses: number };
  }[];
  modelDir: string | null;
  scheme: string;
  /** The plan's context length (null for logreg), so the prepared model is the one rounds use. */
  contextLength: number | null;
  delta: number;
  acceptCentralDp: boolean;
  featureCacheDir?: string;
  backend: string;
  /** Threads for this worker's frozen passes. */
  threads: number;
}

export type SimWorkerMessage =
  | { type: "progress"; label: string; line: string }
  | { type: "ready"; label: string; examples: number }
  | { type: "done"; label: string; reason: string; roundsTrained: number; epsilon: number | null }
  | { type: "failed"; label: string; message: string };

const d = workerData as SimWorkerData;
const post = (m: SimWorkerMessage) => parentPort!.postMessage(m);

await initBackend({ backend: d.backend, log: null });
await Promise.all(
  d.nodes.map(async (n) => {
    try {
      const data = nodeDataFrom(n.data.name, n.data, n.data.numClasses);
      const runner = createNodeRunner({
        url: d.url,
        identity: { publicKey: n.publicKey, secretKey: n.secretKey },
        coordinatorKey: d.coordinatorKey,
        data,
        ...(d.modelDir ? { modelDir: d.modelDir } : {}),
        backend: d.backend,
        policy: { maxEpsilon: null, maxDelta: d.delta, acceptCentralDp: d.acceptCentralDp },
        ...(d.featureCacheDir ? { featureCacheDir: d.featureCacheDir } : {}),
        threads: d.threads,
        log: (line) => post({ type: "progress", label: n.label, line }),
        onPrepare: rateReporter("features", (line) => post({ type: "progress", label: n.label, line })),
        logger: silentLogger,
        onEvent: (e) => {
          if (e.type === "round") {
            post({
              type: "progress",
              label: n.label,
              line: `round ${e.round}: update sent, local ε ${e.epsilon?.toFixed(3) ?? "—"}`,
            });
          } else if (e.type === "refused") {
            post({
              type: "progress",
              label: n.label,
              line: `round ${e.round}: refused (${e.code}) ${e.message}`,
            });
          }
        },
      });
      // Build the model (for side: the frozen-backbone feature cache) before joining.
      await runner.prepare({ scheme: d.scheme, contextLength: d.contextLength });
      post({ type: "ready", label: n.label, examples: data.train.labels.length });
      const s = await runner.run();
      post({
        type: "done",
        label: n.label,
        reason: s.reason,
        roundsTrained: s.roundsTrained,
        epsilon: s.epsilon,
      });
    } catch (err) {
      post({ type: "failed", label: n.label, message: (err as Error).message });
    }
  }),
);
