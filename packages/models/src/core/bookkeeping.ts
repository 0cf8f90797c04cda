/**
 * Book-keeping per-example clipping (Bu et al., "Differentially private optimization on large
 * model at small cost"; ghost norms from Li et al. / Goodfellow).
 *
 * For a linear site z = a·W + b with stored input a ∈ R^{B×T×Din} and output gradient
 * g ∈ R^{B×T×Dout}, example i's weight gradient is ∇W_i = a_iᵀ g_i. Its squared norm is either
 *   ghost:        ‖a_iᵀ g_i‖²_F = ⟨a_i a_iᵀ, g_i g_iᵀ⟩_F           (cost ~ T²(Din+Dout))
 *   materialised: form a_iᵀ g_i [Din×Dout] and square-sum           (cost ~ T·Din·Dout)
 * chosen per layer by fastDP's mixed rule: ghost iff 2T² ≤ Din·Dout. Bias: ‖Σ_t g_it‖².
 * With c_i = min(1, C/‖g_i‖) over ALL trainable parameters, the clipped sum is one reweighted
 * product per site: Σ_i c_i a_iᵀ g_i = aᵀ·diag(c)·g (`weightedOuterSum`: on wasm/cpu our small-product
 * kernel). On wasm/cpu the norm pass keeps each example's a_iᵀ g_i in the kernel's memory while a
 * budget allows (64 MiB: the side network's at micro-batch 32), so the clipped sum is a weighted sum of
 * kept products instead of a second pass of products; past the budget, or on native backends, only
 * the [B] norm vector is kept.
 */
import {
  batchMatMul,
  keptBiasSum,
  keptOuterSum,
  perExampleOuterSqNorm,
  perExampleOuterSqNormKeeping,
  perExampleTokenSumSqNorm,
  scatterAddRows,
  weightedOuterSum,
  weightedTokenSum,
} from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { type Site, siteParams } from "./sites.js";

/** fastDP's mixed ghost-norm rule. */
export function useGhost(t: number, din: number, dout: number): boolean {
  return 2 * t * t <= din * dout;
}

const gram = (x: tf.Tensor3D): tf.Tensor3D => batchMatMul(x, x, { transposeB: true });

/** ‖a_iᵀ g_i‖² per example (how it is formed depends on the backend: see perExampleOuterSqNorm). */
export function outerSqNorm(a: tf.Tensor3D, g: tf.Tensor3D): tf.Tensor1D {
  return perExampleOuterSqNorm(a, g);
}

/** Per-example squared gradient norm of one site's parameters. */
export function siteSqNorm(s: Site): tf.Tensor1D | null {
  if (!s.g) return null;
  return tf.tidy(() => {
    const terms = siteSqNormTerms(s);
    return (terms.length === 1 ? terms[0]! : tf.addN(terms)) as tf.Tensor1D;
  });
}

/**
 * The parts of a site's per-example squared norm (one per parameter or kind of use), left for the
 * caller to add: `totalSqNorms` adds every site's parts in one AddN. Call inside a tidy; s.g is set.
 */
function siteSqNormTerms(s: Site): tf.Tensor1D[] {
  const g = s.g!;
  switch (s.kind) {
    case "linear": {
      s.kept?.release();
      const { norms, biasNorms, kept } = perExampleOuterSqNormKeeping(s.a, g, { bias: s.bias !== undefined });
      if (kept) s.kept = kept;
      return biasNorms ? [norms, biasNorms] : [norms];
    }
    case "affine":
      // ∇γ_i = Σ_t a_it ⊙ g_it, ∇β_i = Σ_t g_it: both token sums (one kernel call each on wasm/cpu).
      return [perExampleTokenSumSqNorm(tf.mul(s.a, g) as tf.Tensor3D), perExampleTokenSumSqNorm(g)];
    case "embed": {
      const terms: tf.Tensor1D[] = [tf.zeros([g.shape[0]])];
      if (s.table) {
        // ∇E_i = Σ_t e_{id_t} g_tᵀ; its Gram over positions is [id_t = id_s]: ghost norm is exact and cheap.
        const ids = tf.cast(s.ids, "float32");
        const eq = tf.cast(tf.equal(tf.expandDims(ids, 2), tf.expandDims(ids, 1)), "float32");
        terms.push(tf.sum(tf.mul(eq, gram(g)), [1, 2]));
      }
      if (s.pos) terms.push(tf.sum(tf.square(g), [1, 2])); // each position used once per example
      if (s.type) terms.push(perExampleTokenSumSqNorm(g)); // row 0 at every position: a bias
      return terms;
    }
    case "tied":
      // ∇E_i = g_iᵀ a_i: Gram-ghost in the other orientation.
      return [outerSqNorm(s.a, g)];
    case "gate":
      return [tf.square(tf.mul(s.factor, tf.sum(tf.mul(s.a, g), [1, 2]))) as tf.Tensor1D];
  }
}

/**
 * 2⟨∇E_i^embed, ∇E_i^head⟩ for a table used both as input embedding and tied output head:
 * Σ_{t,s} g_head[s, id_t] · ⟨g_embed,t , a_head,s⟩.
 */
export function tiedCrossTerm(
  embed: Site & { kind: "embed" },
  head: Site & { kind: "tied" },
): tf.Tensor1D | null {
  if (!embed.g || !head.g) return null;
  const ge = embed.g;
  const gh = head.g;
  return tf.tidy(() => {
    const v = gh.shape[2];
    const oh = tf.oneHot(tf.cast(embed.ids, "int32"), v) as tf.Tensor3D; // [B,T,V]
    const picked = batchMatMul(oh, gh, { transposeB: true }); // [B,T(t),T(s)] = g_head[s, id_t]
    const dots = batchMatMul(ge, head.a, { transposeB: true }); // ⟨g_embed,t , a_s⟩
    return tf.mul(2, tf.sum(tf.mul(picked, dots), [1, 2])) as tf.Tensor1D;
  });
}

export type ShapeOf = (name: string) => number[];

/** Σ_i w_i ∇θ_i for this site's parameters (w = null: plain sum). */
export function siteWeightedSum(s: Site, w: tf.Tensor1D | null, shapeOf: ShapeOf): [string, tf.Tensor][] {
  if (!s.g) return [];
  const g = s.g;
  return tf.tidy(() => {
    const weights = w ? (w.dataSync() as Float32Array) : null;
    const out: [string, tf.Tensor][] = [];
    if (s.kind === "linear") {
      const kept = s.kept;
      if (kept) {
        out.push([s.weight, keptOuterSum(kept, weights)]);
        if (s.bias) out.push([s.bias, kept.bias ? keptBiasSum(kept, weights) : weightedTokenSum(g, weights)]);
        kept.release();
        s.kept = undefined;
        return out;
      }
      out.push([s.weight, weightedOuterSum(s.a, g, weights)]);
      if (s.bias) out.push([s.bias, weightedTokenSum(g, weights)]);
      return out;
    }
    if (s.kind === "affine") {
      out.push(
        [s.gamma, weightedTokenSum(tf.mul(s.a, g) as tf.Tensor3D, weights)],
        [s.beta, weightedTokenSum(g, weights)],
      );
      return out;
    }
    const gw = (w ? tf.mul(g, tf.reshape(w, [-1, 1, 1])) : g) as tf.Tensor3D;
    switch (s.kind) {
      case "embed": {
        const d = gw.shape[2];
        if (s.table) {
          const ids = tf.reshape(s.ids, [-1]) as tf.Tensor1D;
          out.push([
            s.table,
            scatterAddRows(ids, tf.reshape(gw, [-1, d]) as tf.Tensor2D, shapeOf(s.table)[0]!),
          ]);
        }
        if (s.pos) {
          const rows = shapeOf(s.pos)[0]!;
          const t = gw.shape[1];
          out.push([
            s.pos,
            tf.pad(tf.sum(gw, 0), [
              [0, rows - t],
              [0, 0],
            ]),
          ]);
        }
        if (s.type) {
          const rows = shapeOf(s.type)[0]!;
          const row0 = tf.reshape(tf.sum(gw, [0, 1]), [1, d]);
          out.push([
            s.type,
            tf.pad(row0, [
              [0, rows - 1],
              [0, 0],
            ]),
          ]);
        }
        break;
      }
      case "tied":
        out.push([s.table, weightedOuterSum(g, s.a, weights)]); // [V,D] = Σ_i w_i g_iᵀ a_i
        break;
      case "gate":
        out.push([s.alpha, tf.reshape(tf.mul(s.factor, tf.sum(tf.mul(s.a, gw))), [1])]);
        break;
    }
    return out;
  });
}

/** Per-example squared norms over all sites, including the tied-embedding cross term. */
export function totalSqNorms(sites: Site[], batch: number): tf.Tensor1D {
  return tf.tidy(() => {
    // Summed once at the end (one AddN, not one Add per site: ~60 sites in a side micro-batch).
    const terms: tf.Tensor1D[] = [tf.zeros([batch])];
    for (const s of sites) if (s.g) terms.push(...siteSqNormTerms(s));
    for (const e of sites) {
      if (e.kind !== "embed" || !e.table) continue;
      for (const h of sites) {
        if (h.kind !== "tied" || h.table !== e.table) continue;
        const x = tiedCrossTerm(e, h);
        if (x) terms.push(x);
      }
    }
    const n = tf.addN(terms) as tf.Tensor1D;
    for (const [name, count] of countByParam(sites)) {
      if (count > 1 && !isTiedPair(sites, name, count)) {
        // Only the embedding/tied-head pair has its cross term above; any other shared parameter
        // would silently undercount the norm.
        throw new Error(`parameter ${name} is used at ${count} sites; cross terms unsupported`);
      }
    }
    return n;
  });
}

/** True iff `name`'s `count` uses are one input embedding table and one tied head on it. */
function isTiedPair(sites: Site[], name: string, count: number): boolean {
  const embeds = sites.filter((s) => s.kind === "embed" && s.table === name).length;
  const heads = sites.filter((s) => s.kind === "tied" && s.table === name).length;
  return count === 2 && embeds === 1 && heads === 1;
}

function countByParam(sites: Site[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of sites) for (const n of siteParams(s)) m.set(n, (m.get(n) ?? 0) + 1);
  return m;
}

/** Accumulate site sums into `acc` (adds when a name repeats, e.g. a tied table). */
export function accumulate(acc: Map<string, tf.Tensor>, parts: [string, tf.Tensor][]): void {
  for (const [name, t] of parts) {
    const prev = acc.get(name);
    if (prev) {
      acc.set(name, tf.add(prev, t));
      prev.dispose();
      t.dispose();
    } else acc.set(name, t);
  }
}

/** c_i = min(1, C/‖g_i‖). */
export function clipFactors(sqNorms: tf.Tensor1D, clipNorm: number): tf.Tensor1D {
  return tf.tidy(() => tf.minimum(1, tf.div(clipNorm, tf.maximum(tf.sqrt(sqNorms), 1e-12))) as tf.Tensor1D);
}
