/**
 * Adaptive clipping for DP-FedAvg (Andrew, Thakkar, McMahan, Ramaswamy 2021, "Differentially
 * Private Learning with Adaptive Clipping").
 *
 * Each round the server privately estimates the fraction b̄ of updates whose norm is at most the
 * current clip norm C, and moves C geometrically toward the target quantile γ:
 *     C ← C · exp(−η · (b̄ − γ)).
 * Direction: if more than γ of the updates already fit under C (b̄ > γ), C is larger than the
 * γ-quantile and must shrink; if fewer fit, C grows. (Getting this sign wrong makes C run away.)
 *
 * The count is itself a Gaussian mechanism: bits bᵢ ∈ {0,1}, centred to bᵢ − ½, have sensitivity ½,
 * so count noise of std σ_b is a noise multiplier of 2σ_b. Composing it with the update mechanism
 * (multiplier z_Δ) is equivalent to a single Gaussian mechanism with
 *     z^{-2} = z_Δ^{-2} + (2σ_b)^{-2},
 * so for a total budgeted multiplier z the update noise must be z_Δ = (z^{-2} − (2σ_b)^{-2})^{-1/2}.
 */
import type { MechanismRandom } from "./types.js";

export interface AdaptiveClipOptions {
  /** γ: the quantile of update norms the clip norm should track. Paper default 0.5. */
  targetQuantile: number;
  /** η: geometric learning rate of the clip norm. Paper default 0.2. */
  learningRate: number;
  /** σ_b: std of the noise on the count of unclipped updates. Paper suggests m/20. */
  countNoiseStd: number;
}

export function validateAdaptiveClip(o: AdaptiveClipOptions): void {
  if (!(o.targetQuantile > 0 && o.targetQuantile < 1)) {
    throw new RangeError(`targetQuantile must be in (0, 1), got ${o.targetQuantile}`);
  }
  if (!(o.learningRate > 0)) throw new RangeError(`clip learningRate must be > 0, got ${o.learningRate}`);
  if (!(o.countNoiseStd > 0)) throw new RangeError(`countNoiseStd must be > 0, got ${o.countNoiseStd}`);
}

/** The update noise multiplier z_Δ that keeps the total multiplier at `total` (throws if impossible). */
export function updateNoiseMultiplier(total: number, countNoiseStd: number): number {
  const rest = total ** -2 - (2 * countNoiseStd) ** -2;
  if (!(rest > 0)) {
    throw new RangeError(
      `adaptive clipping: count noise std ${countNoiseStd} is too small for total noise multiplier ${total} ` +
        `(need 2·σ_b > z, i.e. σ_b > ${total / 2})`,
    );
  }
  return rest ** -0.5;
}

/**
 * One clip-norm update from the norms of this round's updates. `expectedNodes` is the fixed
 * denominator m (the expected number of sampled nodes), as in the paper.
 */
export function nextClipNorm(
  clipNorm: number,
  updateNorms: number[],
  expectedNodes: number,
  options: AdaptiveClipOptions,
  random: MechanismRandom,
): { clipNorm: number; unclippedFraction: number } {
  let unclipped = 0;
  for (const n of updateNorms) if (n <= clipNorm) unclipped++;
  const noisy = unclipped + random.gaussian(options.countNoiseStd);
  const fraction = noisy / expectedNodes;
  return {
    clipNorm: clipNorm * Math.exp(-options.learningRate * (fraction - options.targetQuantile)),
    unclippedFraction: fraction,
  };
}
