/**
 * Frozen-backbone features for ladder side tuning.
 *
 * The side network reads every backbone hidden state h_0 … h_L through a *learned* downsample
 * d → d/r (as in LST), so its full-width input must be available: the cache holds (L+1)·T·d
 * floats per example ((L+1)·T·d·4 bytes; e.g. 6 layers, T=128, d=256 → 0.9 MB). The trade-off
 * we chose: keep the downsample learnable (LST's accuracy) and pay r× more cache than a fixed
 * projection would; a trainer short on memory can store the cache as float16 (halving it) since
 * features are read-only. Computing them needs no tape: one inference forward per dataset.
 */
import { halvesToTensor } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import type { BackboneModel } from "../core/backbone.js";
import { f16ArrayToF32 } from "../safetensors/half.js";

export interface SideFeatures {
  /** h_0 (embeddings) … h_L (last block output, before the backbone's `final`), each [B,T,d]. */
  hidden: tf.Tensor3D[];
}

export function computeSideFeatures(
  backbone: BackboneModel,
  inputIds: tf.Tensor2D,
  attentionMask: tf.Tensor2D,
): SideFeatures {
  const out = backbone.forward(inputIds, attentionMask, { hidden: true });
  out.final.dispose();
  return { hidden: out.hidden! };
}

export function disposeSideFeatures(f: SideFeatures): void {
  tf.dispose(f.hidden);
}

/**
 * Split features into per-example Float32Arrays ([L+1][T·d] each) for caching, and back. Cached
 * examples may also be F16 bits (Uint16Array): half the memory and disk, widened exactly to float32
 * when a batch is assembled (one SIMD kernel call per layer when every example is F16).
 */
export function featuresToArrays(f: SideFeatures): Float32Array[][] {
  const b = f.hidden[0]!.shape[0];
  const per: Float32Array[][] = Array.from({ length: b }, () => []);
  for (const h of f.hidden) {
    const data = h.dataSync() as Float32Array;
    const n = data.length / b;
    for (let i = 0; i < b; i++) per[i]!.push(data.slice(i * n, (i + 1) * n));
  }
  return per;
}

export function featuresFromArrays(
  examples: (Float32Array | Uint16Array)[][],
  t: number,
  d: number,
): SideFeatures {
  const layers = examples[0]?.length ?? 0;
  const hidden: tf.Tensor3D[] = [];
  for (let l = 0; l < layers; l++) {
    const parts = examples.map((ex) => ex[l]!);
    if (parts.every((x) => x instanceof Uint16Array)) {
      hidden.push(halvesToTensor(parts as Uint16Array[], [examples.length, t, d]));
      continue;
    }
    const buf = new Float32Array(examples.length * t * d);
    for (const [i, ex] of examples.entries()) {
      const x = ex[l]!;
      if (x instanceof Uint16Array) f16ArrayToF32(x, buf, i * t * d);
      else buf.set(x, i * t * d);
    }
    hidden.push(tf.tensor3d(buf, [examples.length, t, d]));
  }
  return { hidden };
}
