/** Side features from an inference engine (e.g. ONNX Runtime), universal: no files involved. */
import { f32ArrayToF16 } from "@memarc/models";
import type { FeatureCache } from "../scheme-model.js";
import type { TokenizedDataset } from "../tokenized.js";

/**
 * What an inference engine must offer to compute side features (structurally satisfied by
 * @memarc/inference's FrozenEngine, so this package does not depend on it).
 */
export interface FrozenPass {
  readonly name: string;
  run(
    ids: Int32Array,
    mask: Float32Array,
    batch: number,
    seq: number,
  ): Promise<{ hidden: Float32Array[]; dim: number; pooled: Float32Array }>;
}

/** Features of `data` computed by `engine`, `batch` rows at a time (stored as F16). */
export async function computeFeaturesWith(
  engine: FrozenPass,
  data: TokenizedDataset,
  batch = 32,
  onProgress?: (done: number, total: number) => void,
): Promise<FeatureCache> {
  const t = data.length;
  const out: FeatureCache = [];
  for (let s = 0; s < data.count; s += batch) {
    const b = Math.min(batch, data.count - s);
    const ids = data.ids.subarray(s * t, (s + b) * t);
    const mask = new Float32Array(b * t);
    for (let i = 0; i < b; i++) mask.fill(1, i * t, i * t + data.lengths[s + i]!);
    const r = await engine.run(ids, mask, b, t);
    const n = t * r.dim;
    for (let i = 0; i < b; i++) out.push(r.hidden.map((h) => f32ArrayToF16(h.subarray(i * n, (i + 1) * n))));
    onProgress?.(out.length, data.count);
  }
  return out;
}
