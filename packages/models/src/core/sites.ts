/**
 * A "site" is one place where trainable parameters act on an activation. The DP backward stores,
 * per site, the site's input activation `a` and the gradient `g` of the loss w.r.t. the site's
 * output (book-keeping), from which per-example gradient norms and the clipped sum are formed
 * without ever materialising a per-example copy of the full gradient.
 */
import type { KeptProducts } from "@memarc/tensor";
import type * as tf from "@tensorflow/tfjs";

export type Site =
  /**
   * z = a·W (+ b); a [B,T,Din], g [B,T,Dout]. `kept`: each example's a_iᵀ g_i, kept by the norm pass
   * in the kernel's memory for the clipped sum (released when used or when the site is disposed).
   */
  | { kind: "linear"; weight: string; bias?: string; a: tf.Tensor3D; g?: tf.Tensor3D; kept?: KeptProducts }
  /** z = a ⊙ γ + β (LayerNorm tail); a = normalised input [B,T,D]. */
  | { kind: "affine"; gamma: string; beta: string; a: tf.Tensor3D; g?: tf.Tensor3D }
  /**
   * z = table[ids] + pos[0..T) (+ type[0]); ids int32 [B,T]. `pos` / `type` name the position and
   * token-type tables, if trainable (only row 0 of the type table is used: single-segment inputs).
   */
  | { kind: "embed"; table?: string; pos?: string; type?: string; ids: tf.Tensor2D; g?: tf.Tensor3D }
  /** logits = a · tableᵀ (tied LM head); a [B,T,D], g [B,T,V]. */
  | { kind: "tied"; table: string; a: tf.Tensor3D; g?: tf.Tensor3D }
  /** u = d + σ(α/τ)·(s − d); a = s − d, `factor` = σ'(α/τ)/τ; g = ∂L/∂u. */
  | { kind: "gate"; alpha: string; factor: number; a: tf.Tensor3D; g?: tf.Tensor3D };

export function disposeSites(sites: Site[]): void {
  for (const s of sites) {
    if (s.kind === "embed") s.ids.dispose();
    else s.a.dispose();
    if (s.kind === "linear") s.kept?.release();
    s.g?.dispose();
  }
}

/** Names of the trainable parameters a site acts with. */
export function siteParams(s: Site): string[] {
  switch (s.kind) {
    case "linear":
      return s.bias ? [s.weight, s.bias] : [s.weight];
    case "affine":
      return [s.gamma, s.beta];
    case "embed":
      return [s.table, s.pos, s.type].filter((n): n is string => n !== undefined);
    case "tied":
      return [s.table];
    case "gate":
      return [s.alpha];
  }
}
