/**
 * Side-scheme feature cache on disk. The frozen backbone's hidden states are a fixed function of
 * (backbone weights, token ids), so runs that differ only in hyper-parameters or ε can share them.
 * The file name is a SHA-256 over the weights file, the config and every token id and length, so a
 * changed backbone, context or dataset can never hit a stale cache. Raw float32, example-major:
 * [count][L+1][T·d]; the size is checked on load. The cache holds the training data's features —
 * derived from private text — so the directory is made private (0700) and every file is written
 * 0600, like the node's other state. Keep it where the data itself may live.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { GPT2Config, SideScheme } from "@memarc/models";
import { computeFeatureCache, type FeatureCache } from "../scheme-model.js";
import type { TokenizedDataset } from "../tokenized.js";

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
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // also when it existed already: nobody else may list or read the features
  const all = new Float32Array(data.count * per * n);
  cache.forEach((ex, i) => {
    ex.forEach((layer, l) => {
      all.set(layer, (i * per + l) * n);
    });
  });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, new Uint8Array(all.buffer), { mode: 0o600 });
  renameSync(tmp, file);
  return cache;
}
