/**
 * Deferred per-example clipping for a backward that visits the network one layer at a time (the
 * reversible scheme): the clip factors c_i = min(1, C/‖∇θ_i‖) are only known once the LAST layer
 * has been visited, but the reconstructing sweep should run once. So, site by site, we keep the
 * smaller of two sufficient statistics for both ‖∇θ_i‖ and Σ_i c_i ∇θ_i:
 *
 * - the per-example gradients of the site's parameters, [B, |θ_site|] (linear: a_iᵀg_i ⊕ Σ_t g_it;
 *   affine: Σ_t a_it⊙g_it ⊕ Σ_t g_it; gate: one scalar per example), or
 * - the site itself, i.e. its (activation a, output gradient g), as the one-backward book-keeping of
 *   the other schemes does (then norms by the ghost/materialise rule, sum by one reweighted product).
 *
 * Rule (memory, per example): per-example gradients iff |θ_site| ≤ T·(Din + Dout), the floats of
 * (a_i, g_i). A bottleneck adapter (D → r → D, r ≪ T) always takes the first branch: at D = 128,
 * r = 16, T = 128 its two linear sites hold 4,240 floats per example instead of 36,864 — 8.7× less —
 * and, unlike (a, g), the statistic does not depend on T. Embedding / tied-head sites are always
 * kept as (a, g) (their per-example gradient is vocabulary-sized).
 *
 * Memory: the store grows with the number of trainable sites, hence with depth — B·Σ|θ_site| floats
 * (reversible default, 4 layers × 2 adapters − 1 = 7 adapters, B = 16: ~1.9 MB, less than one frozen
 * block's tape at T = 128), but never with T for adapter sites. Activations still do not grow with
 * depth: each layer's (a, g) is reduced to per-example gradients and freed before the next layer.
 */
import { batchMatMul } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { accumulate, type ShapeOf, siteWeightedSum, totalSqNorms } from "../core/bookkeeping.js";
import { disposeSites, type Site, siteParams } from "../core/sites.js";

/** Floats per example of the site's parameter gradients, or null if it is not materialisable here. */
function perExampleSize(s: Site & { g: tf.Tensor3D }): number | null {
  const d = s.g.shape[2];
  switch (s.kind) {
    case "linear":
      return s.a.shape[2] * d + (s.bias ? d : 0);
    case "affine":
      return 2 * d;
    case "gate":
      return 1;
    default:
      return null;
  }
}

/** True iff the site's per-example parameter gradients take no more memory than its (a, g). */
export function keepsPerExample(s: Site): boolean {
  if (!s.g || s.kind === "embed") return false;
  const n = perExampleSize(s as Site & { g: tf.Tensor3D });
  if (n === null) return false;
  const [, t, din] = s.a.shape;
  return n <= t * (din + s.g.shape[2]);
}

/** The site's per-example parameter gradients, each flattened to [B, numel]. */
function perExampleGrads(s: Site & { g: tf.Tensor3D }): [string, tf.Tensor2D][] {
  const g = s.g;
  const b = g.shape[0];
  return tf.tidy(() => {
    const out: [string, tf.Tensor2D][] = [];
    const flat = (x: tf.Tensor) => tf.reshape(x, [b, -1]) as tf.Tensor2D;
    switch (s.kind) {
      case "linear":
        out.push([s.weight, flat(batchMatMul(s.a, g, { transposeA: true }))]);
        if (s.bias) out.push([s.bias, flat(tf.sum(g, 1))]);
        break;
      case "affine":
        out.push([s.gamma, flat(tf.sum(tf.mul(s.a, g), 1))], [s.beta, flat(tf.sum(g, 1))]);
        break;
      case "gate":
        out.push([s.alpha, flat(tf.mul(s.factor, tf.sum(tf.mul(s.a, g), [1, 2])))]);
        break;
      default:
        throw new Error(`per-example gradients of a ${s.kind} site are not materialised`);
    }
    return out;
  });
}

export class DeferredClip {
  /** Parameter name → per-example gradient [B, numel] (summed over sites if a name repeats). */
  private readonly perExample = new Map<string, tf.Tensor2D>();
  /** Sites kept whole, as (a, g). */
  private readonly kept: Site[] = [];

  constructor(
    private readonly batch: number,
    private readonly shapeOf: ShapeOf,
  ) {}

  /** Takes ownership of `sites`: each is reduced to per-example gradients and freed, or kept. */
  add(sites: Site[]): void {
    for (let k = 0; k < sites.length; k++) {
      const s = sites[k]!;
      if (!s.g) {
        disposeSites([s]); // not reached by the backward: no gradient
      } else if (keepsPerExample(s)) {
        try {
          accumulate(this.perExample, perExampleGrads(s as Site & { g: tf.Tensor3D }));
        } catch (e) {
          disposeSites(sites.slice(k));
          throw e;
        }
        disposeSites([s]);
      } else this.kept.push(s);
    }
  }

  /** Per-example squared norms ‖∇θ_i‖² over every parameter seen so far. */
  sqNorms(): tf.Tensor1D {
    return tf.tidy(() => {
      const names = new Set<string>();
      for (const s of this.kept) for (const n of siteParams(s)) if (this.perExample.has(n)) names.add(n);
      if (names.size)
        throw new Error(`parameters ${[...names].join(", ")} are split across kept and reduced sites`);
      let n = totalSqNorms(this.kept, this.batch);
      for (const g of this.perExample.values()) n = tf.add(n, tf.sum(tf.square(g), 1));
      return n;
    });
  }

  /** Adds Σ_i c_i ∇θ_i of every parameter seen into `acc`. */
  clippedSum(c: tf.Tensor1D, acc: Map<string, tf.Tensor>): void {
    for (const [name, g] of this.perExample) {
      const sum = tf.tidy(() =>
        tf.reshape(tf.matMul(tf.reshape(c, [1, this.batch]) as tf.Tensor2D, g), this.shapeOf(name)),
      );
      accumulate(acc, [[name, sum]]);
    }
    for (const s of this.kept) accumulate(acc, siteWeightedSum(s, c, this.shapeOf));
  }

  /** Floats held per example (reporting / tests). */
  perExampleFloats(): { reduced: number; kept: number } {
    let reduced = 0;
    for (const g of this.perExample.values()) reduced += g.shape[1];
    let kept = 0;
    for (const s of this.kept) {
      const a = s.kind === "embed" ? s.ids : s.a;
      kept += a.size / this.batch + (s.g ? s.g.size / this.batch : 0);
    }
    return { reduced, kept };
  }

  dispose(): void {
    tf.dispose([...this.perExample.values()]);
    this.perExample.clear();
    disposeSites(this.kept);
    this.kept.length = 0;
  }
}
