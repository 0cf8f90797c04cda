/**
 * spawn-worker.ts in a browser (the package's "browser" map): a DP-step worker is a module Web
 * Worker running the bundle's `clip-worker.js`, next to the script that starts it (apps/web-node
 * bundles it there); its setup is its first message. Web Workers
 * nest, so the browser node's training Worker can start them. A Web Worker has no exit event: one
 * that fails reports through `error`, and the pool then fails the step as under Node.
 */
import type { FromWorker, SetupMessage } from "./messages.js";
import type { SpawnWorker } from "./worker-handle.js";

/** The part of the DOM's Worker used here (this package compiles without the DOM library). */
interface WebWorker {
  onmessage: ((e: { data: FromWorker }) => void) | null;
  onerror: ((e: { message?: string; preventDefault(): void }) => void) | null;
  onmessageerror: (() => void) | null;
  postMessage(m: unknown, transfer?: ArrayBuffer[]): void;
  terminate(): void;
}
type WorkerConstructor = new (url: string | URL, o: { type: "module" }) => WebWorker;
const host = globalThis as unknown as { Worker?: WorkerConstructor; location?: { href: string } };

export const spawnClipWorker: SpawnWorker = (setup, on) => {
  if (!host.Worker) throw new Error("this browser context cannot start Web Workers");
  const url = new URL("clip-worker.js", host.location?.href);
  const worker = new host.Worker(url, { type: "module" });
  worker.onmessage = (e) => on.message(e.data);
  worker.onerror = (e) => {
    e.preventDefault();
    on.error(new Error(e.message || `cannot run ${String(url)}`));
  };
  worker.onmessageerror = () => on.error(new Error("a DP-step worker's message could not be read"));
  worker.postMessage({ type: "setup", setup } satisfies SetupMessage);
  return {
    post: (m, transfer) => worker.postMessage(m, transfer),
    ref: () => {},
    unref: () => {},
    terminate: async () => worker.terminate(),
  };
};
