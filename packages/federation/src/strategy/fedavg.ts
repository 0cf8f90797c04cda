/**
 * FedAvg (McMahan et al. 2017): every eligible node (or a fixed fraction) trains; the aggregate is
 * the mean of the updates. Under example-level DP each update is already the output of DP-SGD, so
 * averaging is post-processing. The mean is unweighted: weighting by example counts would need the
 * counts, which are private (and a node with more data already sends a less noisy update, since its
 * Poisson batches at the shared rate q are larger). An update-norm bound still applies so one
 * broken or hostile node cannot drag the model arbitrarily far.
 */
import { addScaled, clipped, zerosLike } from "../weights.js";
import { evaluateSummary } from "./metrics.js";
import type {
  AggregateOutcome,
  EvaluateResult,
  Failure,
  FitPlan,
  FitResult,
  LocalDpSettings,
  MechanismRandom,
  NodeInfo,
  RoundContext,
  Strategy,
} from "./types.js";

export interface FedAvgOptions {
  /** Fraction of eligible nodes that train each round (sampled without replacement). Default 1. */
  fraction?: number;
  /** L2 bound on each node's update; larger updates are scaled down to it. Default ∞. */
  updateNormBound?: number;
  /** Local DP-SGD settings dictated to every node (example-level DP), or null. */
  localDp?: LocalDpSettings | null;
  random?: MechanismRandom;
}

export class FedAvg implements Strategy {
  readonly name = "fedavg";
  constructor(private readonly options: FedAvgOptions = {}) {
    const f = options.fraction ?? 1;
    if (!(f > 0 && f <= 1)) throw new RangeError(`fraction must be in (0, 1], got ${f}`);
    if (f < 1 && !options.random) throw new RangeError("fraction < 1 needs a random source");
  }

  protected selectNodes(nodes: NodeInfo[]): NodeInfo[] {
    const f = this.options.fraction ?? 1;
    if (f >= 1) return nodes;
    const k = Math.max(1, Math.round(f * nodes.length));
    // Partial Fisher–Yates on a copy: a uniform k-subset.
    const pool = nodes.slice();
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.options.random!.uniform() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return pool.slice(0, k);
  }

  configureFit(ctx: RoundContext): FitPlan {
    const selected = this.selectNodes(ctx.nodes);
    const tasks = selected.map((node) => ({
      nodeId: node.id,
      config: {
        localDp: this.options.localDp ? { ...this.options.localDp } : null,
        updateClip: Number.isFinite(this.options.updateNormBound ?? Infinity)
          ? this.options.updateNormBound!
          : null,
      },
    }));
    const events = tasks.flatMap((t) =>
      t.config.localDp
        ? [
            {
              unit: "example" as const,
              subject: t.nodeId,
              noiseMultiplier: t.config.localDp.noiseMultiplier,
              sampleRate: t.config.localDp.sampleRate,
              steps: t.config.localDp.steps,
            },
          ]
        : [],
    );
    return { tasks, events };
  }

  aggregateFit(ctx: RoundContext, results: FitResult[], failures: Failure[]): AggregateOutcome {
    const delta = zerosLike(ctx.global);
    const bound = this.options.updateNormBound ?? Infinity;
    let clippedCount = 0;
    for (const r of results) {
      const c = clipped(r.delta, bound);
      if (c.factor < 1) clippedCount++;
      addScaled(delta, c.weights, 1 / results.length);
    }
    return {
      delta,
      metrics: {
        participants: results.length,
        failures: failures.length,
        updatesClipped: clippedCount,
      },
    };
  }

  configureEvaluate(ctx: RoundContext): string[] {
    return ctx.nodes.map((n) => n.id);
  }

  aggregateEvaluate(_ctx: RoundContext, results: EvaluateResult[]): Record<string, number> {
    return evaluateSummary(results);
  }

  saveState(): Record<string, unknown> {
    return {};
  }

  loadState(): void {}
}
