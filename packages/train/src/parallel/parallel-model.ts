/**
 * A SchemeModel whose DP-step micro-batches run on worker threads (ClipPool). The model itself —
 * its trainable variables, its data, the side scheme's feature cache — stays on the owner's
 * thread; a micro-batch travels as plain arrays and comes back as a clipped gradient sum (or, for
 * `evaluate`, as logits).
 *
 * Weights are sent to a worker only when they changed since it last saw them. A tfjs Variable's
 * `assign` gives it the new value's data id, so the list of data ids identifies the current weights
 * without reading them (every optimiser and importTrainable write through `assign`).
 */
import * as tf from "@tensorflow/tfjs";
import type { ClippedBatch, ParallelGradients, PlainBatch, TrainableModel } from "../model.js";
import type { Grads } from "../optimizers.js";
import { type Evaluation, EvaluationAccumulator, type SchemeModel } from "../scheme-model.js";
import type { ClipPool, PoolResult } from "./clip-pool.js";
import type { MicroBatch, WeightsUpdate } from "./messages.js";

/** Weight versions are unique in the process: a pool's workers may serve several models in turn. */
let lastVersion = 0;

export class ParallelSchemeModel implements TrainableModel {
  readonly parallel: ParallelGradients;
  private snapshot: { ids: unknown[]; update: WeightsUpdate } | null = null;

  constructor(
    readonly local: SchemeModel,
    private readonly pool: ClipPool,
  ) {
    this.parallel = {
      concurrency: pool.threads,
      clippedGradients: (indices, clipNorm) => this.onWorker(indices, clipNorm),
      gradients: async (indices) => {
        if (indices.length === 0) return { sum: new Map(), lossSum: 0 };
        const r = await this.run("plain", indices, 0);
        return { sum: this.toGrads(r), lossSum: r.lossSum };
      },
      noiseWorkers: {
        concurrency: pool.threads,
        drawShares: (dimension, counts, o) => pool.noiseShares(dimension, counts, o),
      },
    };
  }

  get params() {
    return this.local.params;
  }

  /** On the owner's thread (memory measurement, tests): the same computation without workers. */
  clippedGradients(indices: Int32Array, clipNorm: number): ClippedBatch {
    return this.local.clippedGradients(indices, clipNorm);
  }

  gradients(indices: Int32Array): PlainBatch {
    return this.local.gradients(indices);
  }

  private weights = (): WeightsUpdate => {
    const ids = [...this.params.values()].map((v) => (v as unknown as { dataId?: unknown }).dataId);
    const same =
      this.snapshot !== null && ids.every((id, i) => id !== undefined && id === this.snapshot!.ids[i]);
    if (!same) {
      const values: Record<string, Float32Array> = {};
      for (const [name, v] of this.params) values[name] = v.dataSync() as Float32Array;
      this.snapshot = { ids, update: { version: ++lastVersion, values } };
    }
    return this.snapshot!.update;
  };

  private microBatch(indices: Int32Array): MicroBatch {
    const d = this.local.data;
    const t = d.length;
    const n = indices.length;
    const ids = new Int32Array(n * t);
    const lengths = new Int32Array(n);
    const labels = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const i = indices[r]!;
      ids.set(d.ids.subarray(i * t, (i + 1) * t), r * t);
      lengths[r] = d.lengths[i]!;
      labels[r] = d.labels[i]!;
    }
    const cache = this.local.featureCache;
    const width = this.local.scheme.config.nEmbd;
    let features: Uint16Array[] | null = null;
    if (cache) {
      const layers = cache[0]?.length ?? 0;
      const per = t * width;
      features = Array.from({ length: layers }, (_, l) => {
        const out = new Uint16Array(n * per);
        for (let r = 0; r < n; r++) out.set(cache[indices[r]!]![l]!, r * per);
        return out;
      });
    }
    return { count: n, length: t, ids, lengths, labels, features, width };
  }

  private async run(mode: "clipped" | "plain", indices: Int32Array, clipNorm: number): Promise<PoolResult> {
    return this.pool.run({ mode, clipNorm, batch: this.microBatch(indices), weights: this.weights });
  }

  /**
   * Accuracy and losses of the current parameters on this model's data, its forwards spread over
   * the workers in micro-batches of `batch` rows (lora, reversible, full run the whole backbone).
   */
  async evaluate(batch = 32, onProgress?: (done: number, total: number) => void): Promise<Evaluation> {
    const n = this.local.data.count;
    const acc = new EvaluationAccumulator(this.local.data.labels);
    const jobs: Promise<void>[] = [];
    let done = 0;
    for (let s = 0; s < n; s += batch) {
      const rows = Int32Array.from({ length: Math.min(batch, n - s) }, (_, i) => s + i);
      jobs.push(
        this.pool.logits({ batch: this.microBatch(rows), weights: this.weights }).then((values) => {
          const logits = tf.tensor2d(values, [rows.length, values.length / rows.length]);
          acc.addLogits(logits, s);
          logits.dispose();
          done += rows.length;
          onProgress?.(done, n);
        }),
      );
    }
    await Promise.all(jobs);
    return acc.result();
  }

  /** Σ clip_C(∇ℓᵢ) over `indices`, computed on a worker thread. */
  private async onWorker(indices: Int32Array, clipNorm: number): Promise<ClippedBatch> {
    if (indices.length === 0) return { clippedSum: new Map(), norms: new Float32Array(0), lossSum: 0 };
    const r = await this.run("clipped", indices, clipNorm);
    return { clippedSum: this.toGrads(r), norms: r.norms ?? new Float32Array(0), lossSum: r.lossSum };
  }

  private toGrads(r: PoolResult): Grads {
    const out: Grads = new Map();
    for (const [name, v] of this.params) {
      const a = r.sums[name];
      if (a) out.set(name, tf.tensor(a, v.shape, "float32"));
    }
    return out;
  }
}
