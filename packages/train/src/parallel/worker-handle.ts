/** How a ClipPool talks to one DP-step worker, whatever the platform starts it with. */
import type { FromWorker, ToWorker, WorkerSetup } from "./messages.js";

export class ParallelError extends Error {
  readonly code = "E_PARALLEL";
  constructor(message: string) {
    super(message);
    this.name = "ParallelError";
  }
}

/** What the pool hears from a worker. */
export interface WorkerEvents {
  message(m: FromWorker): void;
  error(e: Error): void;
  exit(code: number): void;
}

/** What the pool does to a worker. */
export interface WorkerHandle {
  post(m: ToWorker, transfer: ArrayBuffer[]): void;
  /** Keep the process alive while the worker starts or works (Node); a browser ignores these. */
  ref(): void;
  unref(): void;
  terminate(): Promise<unknown>;
}

export type SpawnWorker = (setup: WorkerSetup, on: WorkerEvents) => WorkerHandle;
