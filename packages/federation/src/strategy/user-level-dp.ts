/**
 * User-level DP-FedAvg (McMahan et al. 2018, "Learning Differentially Private Recurrent Language
 * Models"), as a wrapper around an inner strategy.
 *
 * - Nodes are Poisson-sampled: each eligible node independently with probability q (the sampling
 *   the accountant's amplification assumes — not a fixed-size sample).
 * - Each node clips its whole update to norm S; the coordinator re-clips (never trusts the node).
 *   This is central DP: the coordinator sees each clipped update and is trusted to add the noise, so
 *   a node takes such tasks only when its operator accepts that (docs/privacy.md).
 * - The sum of clipped updates gets N(0, (z_Δ·S)²) noise and is divided by the FIXED denominator
 *   m = q·N (expected participants), not by the actual count and not by example-weighted totals:
 *   a weighted average would give one user influence up to wᵢ/Σw·S, breaking the sensitivity the
 *   noise was calibrated for. The inner strategy's own aggregation is therefore not used; it only
 *   configures tasks and evaluation.
 */
import { addScaled, clipped, l2Norm, scaleInPlace, zerosLike } from "../weights.js";
import {
  type AdaptiveClipOptions,
  nextClipNorm,
  updateNoiseMultiplier,
  validateAdaptiveClip,
} from "./adaptive-clip.js";
import type {
  AggregateOutcome,
  EvaluateResult,
  Failure,
  FitPlan,
  FitResult,
  MechanismRandom,
  RoundContext,
  Strategy,
} from "./types.js";

export interface UserLevelDpOptions {
  /** Total noise multiplier z that the accountant charges per round. */
  noiseMultiplier: number;
  /** q: probability that each node is sampled in a round. */
  sampleRate: number;
  /** Initial (or fixed) clip norm S on each node's update (not the per-example clip C). */
  updateClip: number;
  /** Turn on adaptive clipping (the noise is split so the total multiplier stays z). */
  adaptive?: AdaptiveClipOptions | null;
  random: MechanismRandom;
}

export class UserLevelDp implements Strategy {
  readonly name: string;
  private clipNorm: number;
  /** Fixed denominator of the round being run, set when it is configured. */
  private expectedNodes = 0;

  constructor(
    private readonly inner: Strategy,
    private readonly options: UserLevelDpOptions,
  ) {
    const { noiseMultiplier: z, sampleRate: q, updateClip } = options;
    if (!(z > 0) || !Number.isFinite(z)) throw new RangeError(`noiseMultiplier must be > 0, got ${z}`);
    if (!(q > 0 && q <= 1)) throw new RangeError(`sampleRate must be in (0, 1], got ${q}`);
    if (!(updateClip > 0) || !Number.isFinite(updateClip))
      throw new RangeError(`updateClip must be > 0, got ${updateClip}`);
    if (options.adaptive) {
      validateAdaptiveClip(options.adaptive);
      updateNoiseMultiplier(z, options.adaptive.countNoiseStd); // fail at construction, not mid-run
    }
    this.clipNorm = updateClip;
    this.name = `user-dp(${inner.name})`;
  }

  get currentClipNorm(): number {
    return this.clipNorm;
  }

  /** The multiplier applied to the update sum (smaller than z when part of z pays for the count). */
  get updateNoiseMultiplier(): number {
    const a = this.options.adaptive;
    return a
      ? updateNoiseMultiplier(this.options.noiseMultiplier, a.countNoiseStd)
      : this.options.noiseMultiplier;
  }

  configureFit(ctx: RoundContext): FitPlan {
    const q = this.options.sampleRate;
    // The population is the set of eligible (connected, admitted) nodes this round. The analysis
    // treats it as fixed; a population that changes between rounds changes m with it, which keeps
    // each round's sensitivity S/m exact for the round it applies to.
    this.expectedNodes = q * ctx.nodes.length;
    const sampled = ctx.nodes.filter(() => this.options.random.uniform() < q);
    const plan = this.inner.configureFit({ ...ctx, nodes: sampled });
    for (const t of plan.tasks) {
      t.config.updateClip = this.clipNorm;
      if (this.options.adaptive) t.config.reportUnclipped = true;
    }
    plan.events.push({
      unit: "user",
      subject: "*",
      noiseMultiplier: this.options.noiseMultiplier,
      sampleRate: q,
      steps: 1,
    });
    return plan;
  }

  aggregateFit(ctx: RoundContext, results: FitResult[], failures: Failure[]): AggregateOutcome {
    const m = this.expectedNodes > 0 ? this.expectedNodes : this.options.sampleRate * ctx.nodes.length;
    if (!(m > 0)) throw new RangeError("user-level DP: no eligible nodes, so the fixed denominator is 0");
    const S = this.clipNorm;
    const sum = zerosLike(ctx.global);
    for (const r of results) addScaled(sum, clipped(r.delta, S).weights, 1);
    const std = this.updateNoiseMultiplier * S;
    this.options.random.addNoise(Object.values(sum), std, S);
    scaleInPlace(sum, 1 / m);

    // Only the noised aggregate and data-independent facts. (How many updates the coordinator had
    // to re-clip depends on the updates themselves and is not released.)
    const metrics: Record<string, number> = {
      participants: results.length,
      failures: failures.length,
      expectedParticipants: m,
      clipNorm: S,
      noiseStdOnMean: std / m,
      aggregateNorm: l2Norm(sum),
    };
    if (this.options.adaptive) {
      // A node that did not report its bit counts as "clipped" (the bit a missing update would give).
      const bits = results.map((r) => r.unclipped === true);
      const next = nextClipNorm(S, bits, m, this.options.adaptive, this.options.random);
      this.clipNorm = next.clipNorm;
      metrics.unclippedFractionEstimate = next.unclippedFraction;
      metrics.nextClipNorm = next.clipNorm;
    }
    return { delta: sum, metrics };
  }

  configureEvaluate(ctx: RoundContext): string[] {
    return this.inner.configureEvaluate(ctx);
  }

  aggregateEvaluate(ctx: RoundContext, results: EvaluateResult[]): Record<string, number> {
    return this.inner.aggregateEvaluate(ctx, results);
  }

  saveState(): Record<string, unknown> {
    return { clipNorm: this.clipNorm, inner: this.inner.saveState() };
  }

  loadState(state: Record<string, unknown>): void {
    const c = state.clipNorm;
    if (typeof c !== "number" || !(c > 0) || !Number.isFinite(c)) {
      throw new RangeError(`user-level DP state: bad clipNorm ${String(c)}`);
    }
    this.clipNorm = c;
    if (state.inner && typeof state.inner === "object")
      this.inner.loadState(state.inner as Record<string, unknown>);
  }
}
