/** Validation every backbone config shares. */
import type { BackboneConfig } from "./backbone.js";
import { ModelError } from "./errors.js";

/**
 * Checks every backbone shares (positive sizes, heads dividing the width, a positive LayerNorm eps),
 * plus the positive integers in `extra` (e.g. BERT's MLP width).
 */
export function validateBackboneConfig<C extends BackboneConfig>(c: C, extra: readonly (keyof C)[] = []): C {
  const keys = ["nLayer", "nEmbd", "nHead", "nPositions", "vocabSize", ...extra] as (keyof C)[];
  for (const k of keys) {
    const v = c[k] as unknown as number;
    if (!Number.isSafeInteger(v) || v < 1)
      throw new ModelError("E_CONFIG", `${String(k)} must be a positive integer, got ${v}`);
  }
  if (c.nEmbd % c.nHead !== 0)
    throw new ModelError("E_CONFIG", `nEmbd (${c.nEmbd}) must be divisible by nHead (${c.nHead})`);
  if (!(c.layerNormEps > 0))
    throw new ModelError("E_CONFIG", `layerNormEps must be > 0, got ${c.layerNormEps}`);
  return c;
}
