/** A DP-step worker thread under Node (clip-server.ts does the work; setup comes as workerData). */
import { parentPort, workerData } from "node:worker_threads";
import { initBackend } from "@memarc/tensor";
import { backboneFromFiles } from "../finetune/backbone.js";
import { loadBackbone } from "../node/backbone-dir.js";
import { serveClipWorker } from "./clip-server.js";
import type { FromWorker, ToWorker, WorkerSetup } from "./messages.js";

const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

initBackend({ log: null })
  .then(() =>
    serveClipWorker({
      setup: workerData as WorkerSetup,
      load: async (s) => ("dir" in s ? loadBackbone(s.dir) : backboneFromFiles(s.files)),
      post,
      listen: (handler) => port.on("message", (m: ToWorker) => handler(m)),
    }),
  )
  .catch((err: unknown) => {
    post({ type: "error", id: null, message: err instanceof Error ? err.message : String(err) });
  });
