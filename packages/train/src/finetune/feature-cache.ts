/**
 * Side-scheme feature cache. The frozen backbone's hidden states are a fixed function of (backbone
 * weights, token ids), so they are computed once per dataset — by a fast inference engine (ONNX
 * Runtime, see @memarc/inference) when the caller provides one, else by the tfjs model — and kept:
 * in memory for the run, and on disk (`featureCacheDir`) so runs that differ only in
 * hyper-parameters or ε share them.
 *
 * The key is a SHA-256 over the weights file, the config and every token id and length, so a
 * changed backbone, context or dataset can never hit a stale cache. On disk: raw F16 bits,
 * example-major [count][L+1][T·d], written and read one example at a time (a training set's cache
 * outgrows a single 2 GB buffer); the size is checked on load. The cache holds the training data's
 * features — derived from private text — so the directory is made private (0700) and every file is
 * written 0600, like the node's other state. Keep it where the data itself may live.
 *
 * Browsers load feature-cache.web.ts instead (the package's "browser" map): no disk there, and a
 * browser backbone has no directory, so these functions are never reached from a page.
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { BackboneConfig, SideScheme } from "@memarc/models";
import { computeFeatureCache, type FeatureCache } from "../scheme-model.js";
import type { TokenizedDataset } from "../tokenized.js";
import { computeFeaturesWith, type FrozenPass } from "./frozen-pass.js";

/** The weights file of a backbone directory (what the cache key hashes). */
export function backboneWeightsFile(dir: string): string {
  return join(dir, "model.safetensors");
}

const weightsDigests = new Map<string, Buffer>();

/** SHA-256 of a weights file, computed once per process (weights do not change during a run). */
export function weightsDigest(file: string): Buffer {
  let d = weightsDigests.get(file);
  if (!d) {
    d = createHash("sha256").update(readFileSync(file)).digest();
    weightsDigests.set(file, d);
  }
  return d;
}

export function featureCacheKey(weightsFile: string, config: BackboneConfig, data: TokenizedDataset): string {
  const h = createHash("sha256");
  h.update(weightsDigest(weightsFile));
  h.update(JSON.stringify(config));
  h.update(`${data.count}x${data.length}`);
  h.update(new Uint8Array(data.ids.buffer, data.ids.byteOffset, data.ids.byteLength));
  h.update(new Uint8Array(data.lengths.buffer, data.lengths.byteOffset, data.lengths.byteLength));
  return h.digest("hex").slice(0, 32);
}

interface Layout {
  per: number;
  n: number;
  file: string | null;
}

function layout(scheme: SideScheme, data: TokenizedDataset, dir: string | undefined, key: string): Layout {
  const c = scheme.config;
  return { per: c.nLayer + 1, n: data.length * c.nEmbd, file: dir ? join(dir, `side-${key}.f16`) : null };
}

function readCached(l: Layout, count: number): FeatureCache | null {
  const bytes = l.per * l.n * 2;
  if (!l.file || !existsSync(l.file) || statSync(l.file).size !== count * bytes) return null;
  const fd = openSync(l.file, "r");
  try {
    const out: FeatureCache = [];
    for (let i = 0; i < count; i++) {
      const ex = new Uint16Array(l.per * l.n);
      const buf = new Uint8Array(ex.buffer);
      for (let got = 0; got < bytes; ) {
        const n = readSync(fd, buf, got, bytes - got, i * bytes + got);
        if (n === 0) return null;
        got += n;
      }
      out.push(Array.from({ length: l.per }, (_, k) => ex.subarray(k * l.n, (k + 1) * l.n)));
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function writeCached(l: Layout, dir: string, cache: FeatureCache): void {
  if (!l.file) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // also when it existed already: nobody else may list or read the features
  const tmp = `${l.file}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    for (const ex of cache)
      for (const layer of ex) {
        const b = new Uint8Array(layer.buffer, layer.byteOffset, layer.byteLength);
        for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
      }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, l.file);
}

/** Features of `data` from `dir` if cached there, else computed on tfjs (one inference pass) and written. */
export function loadOrComputeFeatures(
  scheme: SideScheme,
  data: TokenizedDataset,
  dir: string,
  weightsFile: string,
  onProgress?: (done: number, total: number) => void,
): FeatureCache {
  const l = layout(scheme, data, dir, featureCacheKey(weightsFile, scheme.config, data));
  const hit = readCached(l, data.count);
  if (hit) {
    onProgress?.(data.count, data.count);
    return hit;
  }
  const cache = computeFeatureCache(scheme, data, 32, onProgress);
  writeCached(l, dir, cache);
  return cache;
}

/** Features of `data` from `dir` if cached there, else computed by `engine` and written (when `dir`). */
export async function loadOrComputeFeaturesWith(
  engine: FrozenPass,
  scheme: SideScheme,
  data: TokenizedDataset,
  o: { dir?: string; weightsFile: string; onProgress?: (done: number, total: number) => void },
): Promise<{ key: string; cache: FeatureCache }> {
  const key = featureCacheKey(o.weightsFile, scheme.config, data);
  const l = layout(scheme, data, o.dir, key);
  const hit = readCached(l, data.count);
  if (hit) {
    o.onProgress?.(data.count, data.count);
    return { key, cache: hit };
  }
  const cache = await computeFeaturesWith(engine, data, 32, o.onProgress);
  if (o.dir) writeCached(l, o.dir, cache);
  return { key, cache };
}
