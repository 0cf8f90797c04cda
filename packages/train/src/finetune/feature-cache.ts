/**
 * Side-scheme feature cache on disk. The frozen backbone's hidden states are a fixed function of
 * (backbone weights, token ids), so runs that differ only in hyper-parameters or ε can share them.
 * The file name is a SHA-256 over the weights file, the config and every token id and length, so a
 * changed backbone, context or dataset can never hit a stale cache. Raw float32, example-major:
 * [count][L+1][T·d]; the size is checked on load. The cache holds the training data's features:
 * keep it where the data itself may live.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  featuresFromArrays,
  type GPT2Config,
  type Objective,
  type Scheme,
  type SideFeatures,
  type SideScheme,
} from "@memarc/models";
import * as tf from "@tensorflow/tfjs";
import type { ClippedBatch, PlainBatch, TrainableModel } from "../model.js";
import type { Grads, Params } from "../optimizers.js";
import { computeFeatureCache, type FeatureCache } from "../scheme-model.js";
import { type BatchTensors, batchTensors, disposeBatch, type TokenizedDataset } from "../tokenized.js";

export function featureCacheKey(weightsFile: string, config: GPT2Config, data: TokenizedDataset): string {
  const h = createHash("sha256");
  h.update(readFileSync(weightsFile));
  h.update(JSON.stringify(config));
  h.update(`${data.count}x${data.length}`);
  h.update(new Uint8Array(data.ids.buffer, data.ids.byteOffset, data.ids.byteLength));
  h.update(new Uint8Array(data.lengths.buffer, data.lengths.byteOffset, data.lengths.byteLength));
  return h.digest("hex").slice(0, 32);
}

/** Features of `data` from `dir` if cached there, else computed (one inference pass) and written. */
export function loadOrComputeFeatures(
  scheme: SideScheme,
  data: TokenizedDataset,
  dir: string,
  weightsFile: string,
  onProgress?: (done: number, total: number) => void,
): FeatureCache {
  const c = scheme.config;
  const per = c.nLayer + 1;
  const n = data.length * c.nEmbd;
  const file = join(dir, `side-${featureCacheKey(weightsFile, c, data)}.f32`);
  const bytes = data.count * per * n * 4;
  if (existsSync(file) && statSync(file).size === bytes) {
    const buf = readFileSync(file);
    const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const out: FeatureCache = [];
    for (let i = 0; i < data.count; i++)
      out.push(Array.from({ length: per }, (_, l) => all.subarray((i * per + l) * n, (i * per + l + 1) * n)));
    onProgress?.(data.count, data.count);
    return out;
  }
  const cache = computeFeatureCache(scheme, data, 32, onProgress);
  mkdirSync(dir, { recursive: true });
  const all = new Float32Array(data.count * per * n);
  cache.forEach((ex, i) => {
    ex.forEach((layer, l) => {
      all.set(layer, (i * per + l) * n);
    });
  });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, new Uint8Array(all.buffer));
  renameSync(tmp, file);
  return cache;
}

/** A side scheme over a tokenized dataset with a given feature cache, as the engine's TrainableModel. */
export class CachedSideModel implements TrainableModel {
  readonly params: Params;
  constructor(
    readonly scheme: Scheme,
    readonly data: TokenizedDataset,
    private readonly cache: FeatureCache,
    readonly objective: Objective = "classify",
  ) {
    if (cache.length !== data.count)
      throw new RangeError(`${cache.length} cached examples for ${data.count} rows`);
    this.params = scheme.trainable;
  }

  batch(indices: ArrayLike<number>): BatchTensors & { features: SideFeatures } {
    const b = batchTensors(this.data, indices);
    const rows = Array.from(indices, (i) => this.cache[i]!);
    return { ...b, features: featuresFromArrays(rows, this.data.length, this.scheme.config.nEmbd) };
  }

  private release(b: BatchTensors & { features: SideFeatures }): void {
    disposeBatch(b);
    tf.dispose(b.features.hidden);
  }

  clippedGradients(indices: Int32Array, clipNorm: number): ClippedBatch {
    if (indices.length === 0) return { clippedSum: new Map(), norms: new Float32Array(0), lossSum: 0 };
    const b = this.batch(indices);
    try {
      const r = this.scheme.clippedGradients(b, { clipNorm, objective: this.objective });
      return { clippedSum: toMap(r.clippedSum), norms: r.norms, lossSum: r.loss * indices.length };
    } finally {
      this.release(b);
    }
  }

  gradients(indices: Int32Array): PlainBatch {
    if (indices.length === 0) return { sum: new Map(), lossSum: 0 };
    const b = this.batch(indices);
    try {
      const r = this.scheme.gradients(b, this.objective);
      return { sum: toMap(r.grads), lossSum: r.loss * indices.length };
    } finally {
      this.release(b);
    }
  }

  /** Accuracy and mean cross-entropy on this dataset, from the cached features. */
  evaluate(batch = 64): { accuracy: number; loss: number } {
    let correct = 0;
    let lossSum = 0;
    for (let s = 0; s < this.data.count; s += batch) {
      const rows = Array.from({ length: Math.min(batch, this.data.count - s) }, (_, i) => s + i);
      const b = this.batch(rows);
      const [pred, loss] = tf.tidy(() => [
        tf.argMax(this.scheme.classify(b), 1),
        this.scheme.perExampleLoss(b, "classify"),
      ]);
      const p = pred!.dataSync();
      for (const v of loss!.dataSync()) lossSum += v;
      rows.forEach((row, i) => {
        if (p[i] === this.data.labels[row]) correct++;
      });
      tf.dispose([pred!, loss!]);
      this.release(b);
    }
    return { accuracy: correct / this.data.count, loss: lossSum / this.data.count };
  }
}

function toMap(r: Record<string, tf.Tensor>): Grads {
  return new Map(Object.entries(r));
}
