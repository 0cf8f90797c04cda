/**
 * A fixed set of DP-step workers (clip-server.ts), each with its own tfjs backend — wasm is
 * single-threaded, so workers are how one node uses several cores: Node's worker threads, or a
 * browser's Web Workers (spawn-worker.ts and its browser twin). Tasks go to the first idle worker;
 * a worker's copy of the trainable weights is refreshed with a task only when the owner's weights
 * changed since that worker last saw them.
 *
 * Failure: a task that throws rejects with the worker's message; a worker that dies (or fails to
 * start) rejects its task and every later one with `ParallelError`, so the DP step fails loudly
 * instead of silently summing fewer examples.
 */
import type { Backbone } from "../finetune/backbone.js";
import type {
  BackboneSource,
  FeatureRows,
  FromWorker,
  MicroBatch,
  NoiseShare,
  ToWorker,
  WeightsUpdate,
  WorkerSetup,
} from "./messages.js";
import { spawnClipWorker } from "./spawn-worker.js";
import { ParallelError, type SpawnWorker, type WorkerHandle } from "./worker-handle.js";

export { ParallelError };

/** Where DP-step workers load `backbone` from: its directory, or the files it was built from. */
export function workerBackboneSource(backbone: Backbone): BackboneSource {
  if (backbone.dir) return { dir: backbone.dir };
  if (backbone.files) return { files: backbone.files };
  throw new RangeError(
    "threads > 1 needs a backbone loaded from a directory or kept with its files (each worker loads it)",
  );
}

export interface PoolTask {
  /** "clipped" / "plain": a gradient sum (messages.ts); "classify": the batch's logits. */
  mode: "clipped" | "plain" | "classify";
  clipNorm: number;
  batch: MicroBatch;
  /** The owner's current weights (called only when a worker needs them). */
  weights: () => WeightsUpdate;
}

export type PoolResult = Extract<FromWorker, { type: "result" }>;
type Answer = Extract<FromWorker, { type: "result" | "logits" | "features" | "noise" }>;
type Queued = PoolTask | { mode: "features"; rows: FeatureRows } | { mode: "noise"; share: NoiseShare };

interface Slot {
  worker: WorkerHandle;
  version: number;
  busy: { resolve: (r: Answer) => void; reject: (e: Error) => void; id: number } | null;
  /** Settles when the worker has built its scheme (null once it has). */
  starting: { resolve: () => void; reject: (e: Error) => void } | null;
}

export class ClipPool {
  private readonly slots: Slot[] = [];
  private readonly queue: { task: Queued; resolve: (r: Answer) => void; reject: (e: Error) => void }[] = [];
  private readonly ready: Promise<void>;
  private broken: Error | null = null;
  private nextId = 0;
  private closed = false;

  constructor(
    readonly threads: number,
    setup: WorkerSetup,
    spawn: SpawnWorker = spawnClipWorker,
  ) {
    if (!Number.isSafeInteger(threads) || threads < 1)
      throw new RangeError(`threads must be a positive integer, got ${threads}`);
    const started: Promise<void>[] = [];
    for (let i = 0; i < threads; i++) {
      // The worker stays referenced while it starts (the owner is waiting for it) and while it
      // holds a task; idle, it is unreferenced so a finished program can exit.
      let slot!: Slot; // assigned below, before any event can arrive
      let worker: WorkerHandle;
      try {
        worker = spawn(setup, {
          message: (m: FromWorker) => this.onMessage(slot, m),
          error: (e) =>
            this.fail(
              new ParallelError(
                `DP-step worker ${slot.starting ? "failed to start" : "crashed"}: ${e.message}`,
              ),
            ),
          exit: (code) => {
            if (!this.closed) this.fail(new ParallelError(`DP-step worker exited (code ${code})`));
          },
        });
      } catch (err) {
        // The workers already started would otherwise outlive a pool nobody holds.
        this.closed = true;
        for (const s of this.slots) void s.worker.terminate();
        throw new ParallelError(`DP-step worker failed to start: ${(err as Error).message}`);
      }
      slot = { worker, version: -1, busy: null, starting: null };
      started.push(
        new Promise<void>((resolve, reject) => {
          slot.starting = { resolve, reject };
        }),
      );
      this.slots.push(slot);
    }
    this.ready = Promise.all(started).then(() => undefined);
    this.ready.catch((e: Error) => this.fail(e));
  }

  /** Runs one micro-batch on the first idle worker. */
  async run(task: PoolTask & { mode: "clipped" | "plain" }): Promise<PoolResult> {
    return (await this.submit(task)) as PoolResult;
  }

  /** The classifier's logits of one micro-batch, row-major [count, classes], on the first idle worker. */
  async logits(task: Omit<PoolTask, "mode" | "clipNorm">): Promise<Float32Array> {
    const r = await this.submit({ ...task, mode: "classify", clipNorm: 0 });
    return (r as Extract<Answer, { type: "logits" }>).logits;
  }

  /** side: the frozen backbone's features of `rows`, one F16 buffer per hidden state. */
  async features(rows: FeatureRows): Promise<Uint16Array[]> {
    const r = await this.submit({ mode: "features", rows });
    return (r as Extract<Answer, { type: "features" }>).layers;
  }

  /**
   * Shares of one release's integer noise, share i holding counts[i] draws of the `dimension`-
   * dimensional release's plan, each drawn by whichever worker is free, from its own CSPRNG.
   */
  async noiseShares(
    dimension: number,
    counts: number[],
    o: { std: number; sensitivity: number },
  ): Promise<Float64Array[]> {
    const answers = await Promise.all(
      counts.map((count) =>
        this.submit({ mode: "noise", share: { dimension, count, std: o.std, sensitivity: o.sensitivity } }),
      ),
    );
    return answers.map((a, i) => {
      const values = (a as Extract<Answer, { type: "noise" }>).values;
      if (values.length !== counts[i])
        throw new ParallelError(`noise share ${i}: ${values.length} draws, expected ${counts[i]}`);
      return values;
    });
  }

  private async submit(task: Queued): Promise<Answer> {
    await this.ready;
    if (this.broken) throw this.broken;
    if (this.closed) throw new ParallelError("the DP-step worker pool is closed");
    return new Promise<Answer>((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.queue.length === 0) continue;
      const { task, resolve, reject } = this.queue.shift()!;
      const id = this.nextId++;
      slot.busy = { resolve, reject, id };
      slot.worker.ref();
      if (task.mode === "noise") {
        slot.worker.post({ type: "noise", id, share: task.share }, []);
        continue;
      }
      if (task.mode === "features") {
        const r = task.rows;
        slot.worker.post({ type: "features", id, rows: r }, [
          r.ids.buffer as ArrayBuffer,
          r.lengths.buffer as ArrayBuffer,
        ]);
        continue;
      }
      let weights: WeightsUpdate | null = task.weights();
      if (weights.version === slot.version) weights = null;
      else slot.version = weights.version;
      const b = task.batch;
      const msg: ToWorker =
        task.mode === "classify"
          ? { type: "classify", id, batch: b, weights }
          : { type: "run", id, mode: task.mode, clipNorm: task.clipNorm, batch: b, weights };
      // The batch arrays were assembled for this task alone: move them. Weights are shared by tasks.
      const transfer = [b.ids, b.lengths, b.labels, ...(b.features ?? [])].map(
        (a) => a.buffer as ArrayBuffer,
      );
      slot.worker.post(msg, transfer);
    }
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (slot.starting) {
      const { resolve, reject } = slot.starting;
      slot.starting = null;
      if (m.type === "ready") {
        slot.worker.unref();
        resolve();
      } else
        reject(new ParallelError(`DP-step worker failed to start: ${"message" in m ? m.message : m.type}`));
      return;
    }
    const busy = slot.busy;
    if (m.type === "ready" || !busy) return;
    if (m.id !== busy.id) {
      this.fail(new ParallelError(`DP-step worker answered task ${m.id}, expected ${busy.id}`));
      return;
    }
    slot.busy = null;
    slot.worker.unref();
    if (m.type === "error") {
      // The worker may have applied the new weights or not: make it take them again next time.
      slot.version = -1;
      busy.reject(new ParallelError(`DP-step worker: ${m.message}`));
    } else busy.resolve(m);
    this.pump();
  }

  private fail(e: Error): void {
    if (this.broken || this.closed) return;
    this.broken = e;
    for (const s of this.slots) {
      s.starting?.reject(e);
      s.starting = null;
      s.busy?.reject(e);
      s.busy = null;
    }
    for (const q of this.queue.splice(0)) q.reject(e);
    void this.close();
  }

  /** Stops every worker; later tasks are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new ParallelError("the DP-step worker pool is closed"));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
