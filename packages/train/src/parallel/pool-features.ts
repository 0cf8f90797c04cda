/**
 * side's frozen-backbone features computed on the DP-step workers, for a host without an inference
 * engine (a browser node; Node with MEMARC_INFERENCE=tfjs): the rows go out in chunks, every worker
 * runs the same tfjs forward the owner would (computeFeatureCache), and the F16 results come back
 * as the owner's FeatureCache. Only the owner's own data, between the owner and its workers.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { FeatureCache } from "../scheme-model.js";
import type { TokenizedDataset } from "../tokenized.js";
import type { ClipPool } from "./clip-pool.js";

/** Identifies a tokenized dataset by content (its rows' ids and lengths). */
export function featureDataKey(data: TokenizedDataset): string {
  const h = sha256.create();
  h.update(Uint8Array.from(new TextEncoder().encode(`${data.count}x${data.length}`)));
  h.update(new Uint8Array(data.ids.buffer, data.ids.byteOffset, data.ids.byteLength));
  h.update(new Uint8Array(data.lengths.buffer, data.lengths.byteOffset, data.lengths.byteLength));
  return bytesToHex(h.digest()).slice(0, 32);
}

export async function featuresOnPool(
  pool: ClipPool,
  data: TokenizedDataset,
  o: { width: number; chunk?: number; onProgress?: (done: number, total: number) => void },
): Promise<FeatureCache> {
  const chunk = o.chunk ?? 32;
  const t = data.length;
  const per = t * o.width;
  const out: FeatureCache = new Array(data.count);
  let done = 0;
  const jobs: Promise<void>[] = [];
  for (let start = 0; start < data.count; start += chunk) {
    const count = Math.min(chunk, data.count - start);
    const rows = {
      count,
      length: t,
      ids: data.ids.slice(start * t, (start + count) * t),
      lengths: data.lengths.slice(start, start + count),
    };
    jobs.push(
      pool.features(rows).then((layers) => {
        for (let i = 0; i < count; i++)
          out[start + i] = layers.map((l) => l.subarray(i * per, (i + 1) * per));
        done += count;
        o.onProgress?.(done, data.count);
      }),
    );
  }
  await Promise.all(jobs);
  return out;
}
