/**
 * How a ClipPool starts one DP-step worker, under Node: a worker thread running clip-worker.ts,
 * with its setup as workerData. A browser build swaps in spawn-worker.web.ts (Web Workers).
 */
import { Worker } from "node:worker_threads";
import type { FromWorker } from "./messages.js";
import type { SpawnWorker } from "./worker-handle.js";

export const spawnClipWorker: SpawnWorker = (setup, on) => {
  const worker = new Worker(new URL("./clip-worker.js", import.meta.url), { workerData: setup });
  // Every listener is attached here, once: in Node, adding a "message" listener to a Worker
  // references it again, so a listener added after unref() would keep the process alive for good.
  worker.on("message", (m: FromWorker) => on.message(m));
  worker.on("error", (e) => on.error(e));
  worker.on("exit", (code) => on.exit(code));
  return {
    post: (m, transfer) => worker.postMessage(m, transfer),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    terminate: () => worker.terminate(),
  };
};
