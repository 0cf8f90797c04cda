/**
 * Named float32 tensors as they travel between coordinator and nodes: the trainable part of a
 * model, or an update Δ to it. Plain typed arrays (no tfjs) so aggregation is exact, cheap and
 * independent of the compute backend.
 */
export type Weights = Record<string, Float32Array>;

export class WeightsMismatchError extends Error {
  readonly code = "E_SCHEMA";
  constructor(message: string) {
    super(message);
    this.name = "WeightsMismatchError";
  }
}

/** Throw unless `w` has exactly the tensors of `like`, each the same length and finite. */
export function assertCompatible(w: Weights, like: Weights, what = "update"): void {
  const want = Object.keys(like);
  const got = Object.keys(w);
  for (const k of got) if (!(k in like)) throw new WeightsMismatchError(`${what}: unknown tensor "${k}"`);
  for (const k of want) {
    const a = w[k];
    if (!a) throw new WeightsMismatchError(`${what}: missing tensor "${k}"`);
    if (a.length !== like[k]!.length) {
      throw new WeightsMismatchError(
        `${what}: tensor "${k}" has ${a.length} values, expected ${like[k]!.length}`,
      );
    }
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i]!))
        throw new WeightsMismatchError(`${what}: tensor "${k}" has a non-finite value at ${i}`);
    }
  }
}

export function zerosLike(w: Weights): Weights {
  const out: Weights = {};
  for (const [k, v] of Object.entries(w)) out[k] = new Float32Array(v.length);
  return out;
}

export function cloneWeights(w: Weights): Weights {
  const out: Weights = {};
  for (const [k, v] of Object.entries(w)) out[k] = v.slice();
  return out;
}

/** Global L2 norm over all tensors, accumulated in float64. */
export function l2Norm(w: Weights): number {
  let s = 0;
  for (const v of Object.values(w)) for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** acc += scale · w, in place. */
export function addScaled(acc: Weights, w: Weights, scale: number): void {
  for (const [k, a] of Object.entries(acc)) {
    const b = w[k]!;
    for (let i = 0; i < a.length; i++) a[i] = a[i]! + scale * b[i]!;
  }
}

export function scaleInPlace(w: Weights, scale: number): void {
  for (const a of Object.values(w)) for (let i = 0; i < a.length; i++) a[i] = a[i]! * scale;
}

/**
 * Clip to L2 norm `bound`: returns the factor min(1, bound/‖w‖) that was applied and the norm
 * before clipping. The copy is scaled, never the caller's arrays.
 */
export function clipped(w: Weights, bound: number): { weights: Weights; norm: number; factor: number } {
  const norm = l2Norm(w);
  const factor = norm > bound ? bound / norm : 1;
  const out = cloneWeights(w);
  if (factor !== 1) scaleInPlace(out, factor);
  return { weights: out, norm, factor };
}

export function totalSize(w: Weights): number {
  let n = 0;
  for (const v of Object.values(w)) n += v.length;
  return n;
}
