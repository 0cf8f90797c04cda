/**
 * clip-pool.ts in a browser (the package's "browser" map): Node's worker threads do not exist
 * there, so a browser node runs its DP steps on its own Web Worker (threads = 1). Asking for more
 * fails loudly, as a pool that cannot start does under Node.
 */
import type { FromWorker, WorkerSetup } from "./messages.js";

export class ParallelError extends Error {
  readonly code = "E_PARALLEL";
  constructor(message: string) {
    super(message);
    this.name = "ParallelError";
  }
}

export type { PoolTask } from "./clip-pool.js";
export type PoolResult = Extract<FromWorker, { type: "result" }>;

export class ClipPool {
  constructor(
    readonly threads: number,
    _setup: WorkerSetup,
  ) {
    throw new ParallelError(
      `DP steps on ${threads} threads need Node's worker threads; a browser node trains on one (threads = 1)`,
    );
  }

  async run(): Promise<PoolResult> {
    throw new ParallelError("no DP-step threads in a browser");
  }

  async close(): Promise<void> {}
}
