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
 * Each node computes its bit bᵢ = [‖Δᵢ‖ ≤ C] on its RAW update, before clipping it to C (counting
 * the coordinator's view of already-clipped updates would decide the bit by float rounding). The
 * coordinator releases only the CENTRED noised sum Σ(bᵢ − ½) + N(0, σ_b²): adding or removing one
 * user moves it by ½ whatever the bit, so its sensitivity is ½ and σ_b is a noise multiplier of
 * 2σ_b. (The uncentred Σbᵢ moves by 1 when the user's bit is 1: twice the sensitivity, which a
 * charge computed for ½ would under-count — TF Privacy's quantile estimator centres for this reason.)
 * Composing it with the update mechanism (multiplier z_Δ) is equivalent to a single Gaussian
 * mechanism with
 *     z^{-2} = z_Δ^{-2} + (2σ_b)^{-2},
 * so for a total budgeted multiplier z the update noise must be z_Δ = (z^{-2} − (2σ_b)^{-2})^{-1/2}.
 * The estimate b̄ = (noised sum)/m + ½ uses the fixed denominator m and is clamped to [0, 1].
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

/** Sensitivity of the centred count Σ(bᵢ − ½) to adding or removing one user. */
export const CENTRED_COUNT_SENSITIVITY = 0.5;

/**
 * One clip-norm update from the nodes' bits (true: the raw update's norm was ≤ the clip norm).
 * `expectedNodes` is the fixed denominator m (the expected number of sampled nodes), as in the paper.
 */
export function nextClipNorm(
  clipNorm: number,
  unclippedBits: readonly boolean[],
  expectedNodes: number,
  options: AdaptiveClipOptions,
  random: MechanismRandom,
): { clipNorm: number; unclippedFraction: number } {
  const released = Float64Array.of(unclippedBits.reduce((s, b) => s + (b ? 0.5 : -0.5), 0));
  random.addNoise([released], options.countNoiseStd, CENTRED_COUNT_SENSITIVITY);
  const fraction = Math.min(1, Math.max(0, released[0]! / expectedNodes + 0.5));
  return {
    clipNorm: clipNorm * Math.exp(-options.learningRate * (fraction - options.targetQuantile)),
    unclippedFraction: fraction,
  };
}
