/**
 * A DP-step Web Worker of a browser node, started by the training Worker's ClipPool
 * (@memarc/train's spawn-worker.web.ts): its setup arrives as the first message, then micro-batches,
 * which clip-server.ts clips and sums exactly as a CLI node's worker threads do. wasm, like the
 * training Worker that starts it (threads are used only with wasm or cpu).
 */
import { initBackend } from "@memarc/tensor";
import {
  backboneFromFiles,
  type FromWorker,
  type SetupMessage,
  serveClipWorker,
  type ToWorker,
  type WorkerSetup,
} from "@memarc/train";

const scope = globalThis as unknown as {
  postMessage(m: FromWorker, transfer?: ArrayBuffer[]): void;
  onmessage: ((e: MessageEvent<SetupMessage | ToWorker>) => void) | null;
  location: { href: string };
};
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => scope.postMessage(m, transfer);

let handler: ((m: ToWorker) => void) | null = null;
const early: ToWorker[] = [];

async function start(setup: WorkerSetup): Promise<void> {
  // The wasm binaries are served next to this script, as for the training Worker.
  await initBackend({ backend: "wasm", wasmPaths: new URL(".", scope.location.href).href, log: null });
  await serveClipWorker({
    setup,
    load: async (source) => {
      if (!("files" in source)) throw new Error("a browser DP-step worker builds its backbone from files");
      return backboneFromFiles(source.files);
    },
    post,
    listen: (h) => {
      handler = h;
      for (const m of early.splice(0)) h(m);
    },
  });
}

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === "setup") {
    start(m.setup).catch((err: unknown) =>
      post({ type: "error", id: null, message: err instanceof Error ? err.message : String(err) }),
    );
  } else if (handler) handler(m);
  else early.push(m);
};
