/**
 * Runs a node's side of a round: local DP-SGD on the global weights, or a private evaluation of
 * them, under the node's OWN privacy policy.
 *
 * The coordinator dictates tasks but cannot overrule the node (docs/privacy.md): whatever weights,
 * settings or number of requests it sends, the node
 *   - refuses training without local noise, unless its operator accepted central (user-level) DP;
 *   - refuses a δ larger than its operator accepts, and accounts at the run's δ;
 *   - charges every release (each noisy step, each evaluation) to its own accountant and refuses a
 *     task that would take it past its ε ceiling — checked before the data is touched;
 *   - sends back nothing but the mechanism's output: Δ (noised by DP-SGD, or clipped for the
 *     coordinator's mechanism), adaptive clipping's bit when asked (released only in a noised
 *     count), and noised evaluation sums. Losses and norms stay on the node (onProgress is local).
 */
import { createAccountant, type PrivacyAccountant } from "@memarc/privacy";
import { createOptimizer, makeSchedule, type TrainingRandom, trainDpSgd } from "@memarc/train";
import type { EvaluateReply, EvaluateRequest, FitReply, FitRequest } from "../coordinator/node-pool.js";
import { clipped, l2Norm, type Weights } from "../weights.js";
import type { LocalModel } from "./local-model.js";

/** What the node's operator decided; no task can change it. */
export interface NodePrivacyPolicy {
  /** Ceiling on this node's ε at the run's δ (null: the operator accepts any ε the run spends). */
  maxEpsilon: number | null;
  /** The largest δ the node accepts for a run. */
  maxDelta: number;
  /**
   * Accept tasks without local noise (user-level DP-FedAvg): the coordinator then sees this node's
   * clipped update and is trusted to add the noise. Not private against the coordinator.
   */
  acceptCentralDp: boolean;
}

/** A task the node's policy does not allow; refused before any data is touched. */
export class PolicyError extends Error {
  constructor(
    readonly code: "E_LOCAL_BUDGET" | "E_NOT_PRIVATE" | "E_DELTA",
    message: string,
  ) {
    super(message);
    this.name = "PolicyError";
  }
}

export interface LocalTrainerOptions {
  random: TrainingRandom;
  policy: NodePrivacyPolicy;
  /** Local progress (shown to the node's operator only; never sent). */
  onProgress?: (p: { round: number; step: number; steps: number; loss: number }) => void;
}

export class LocalTrainer {
  readonly accountant: PrivacyAccountant;
  /** The δ of the run the node last served (its ε is reported at it). */
  private runDelta: number;

  constructor(
    private readonly model: LocalModel,
    private readonly options: LocalTrainerOptions,
    accountant?: PrivacyAccountant,
  ) {
    this.accountant = accountant ?? createAccountant("rdp");
    this.runDelta = options.policy.maxDelta;
  }

  localEpsilon(): number | null {
    return this.accountant.totalSteps > 0 ? this.accountant.getEpsilon(this.runDelta) : null;
  }

  /** Refuse δ beyond the policy; adopt the run's δ for reporting. */
  private acceptDelta(delta: number, what: string): void {
    if (!(delta > 0 && delta <= this.options.policy.maxDelta))
      throw new PolicyError(
        "E_DELTA",
        `${what} asks for δ = ${delta}; this node accepts δ ≤ ${this.options.policy.maxDelta}`,
      );
    this.runDelta = delta;
  }

  /** Refuse if `event` would take this node past its ε ceiling (at the run's δ). */
  private checkBudget(event: { noiseMultiplier: number; sampleRate: number; steps: number }, what: string) {
    const max = this.options.policy.maxEpsilon;
    if (max === null) return;
    if (!this.accountant.canSpend(event, { epsilon: max, delta: this.runDelta }))
      throw new PolicyError(
        "E_LOCAL_BUDGET",
        `${what} (${event.steps} release(s) at σ=${event.noiseMultiplier}, q=${event.sampleRate}) would exceed this node's ε limit ${max} at δ=${this.runDelta}`,
      );
  }

  /** Check a training task against the policy without touching the data (throws PolicyError). */
  admitFit(request: FitRequest, delta: number): void {
    const what = `round ${request.round}`;
    const { dp, steps, sampleRate } = request.plan;
    if (!dp) {
      if (!this.options.policy.acceptCentralDp)
        throw new PolicyError(
          "E_NOT_PRIVATE",
          `${what} asks for training without local noise; this node only runs local DP-SGD (its operator can accept the coordinator's user-level noise with --accept-central-dp)`,
        );
      const s = request.plan.updateClip;
      if (s === null || !(s > 0) || !Number.isFinite(s))
        throw new PolicyError("E_NOT_PRIVATE", `${what}: central DP needs a finite update clip norm`);
      return;
    }
    this.acceptDelta(delta, what);
    this.checkBudget({ noiseMultiplier: dp.noiseMultiplier, sampleRate, steps }, what);
  }

  async fit(request: FitRequest, runDelta: number, signal?: AbortSignal): Promise<FitReply> {
    this.admitFit(request, runDelta);
    const plan = request.plan;
    const dp = plan.dp;
    this.model.setWeights(request.weights);
    const steps = plan.steps;
    const config = {
      datasetSize: this.model.numTrainExamples,
      sampleRate: plan.sampleRate,
      maxPhysicalBatch: plan.maxPhysicalBatch,
      steps,
      ...(dp
        ? {
            expectedBatchSize: dp.expectedBatchSize,
            noiseMultiplier: dp.noiseMultiplier,
            clipNorm: dp.perExampleClip,
          }
        : { noiseMultiplier: 0, clipNorm: Number.POSITIVE_INFINITY }),
    };
    const optimizer = createOptimizer(plan.optimizer);
    const max = this.options.policy.maxEpsilon;
    try {
      await trainDpSgd({
        model: this.model,
        config,
        optimizer,
        schedule: makeSchedule(plan.schedule, plan.learningRate, steps, plan.warmupSteps),
        random: this.options.random,
        // Every noisy step counts against the node's own budget as soon as it is taken; admitFit
        // already refused a task that would pass the ceiling, and the driver's stop guards it again.
        accountant: this.accountant,
        budget: max === null ? null : { epsilon: max, delta: this.runDelta },
        onStep: (info) =>
          this.options.onProgress?.({ round: request.round, step: info.step + 1, steps, loss: info.loss }),
        ...(signal ? { signal } : {}),
      });
    } finally {
      optimizer.dispose();
    }
    const trained = this.model.getWeights();
    const raw: Weights = {};
    for (const [k, w0] of Object.entries(request.weights)) {
      const w1 = trained[k]!;
      raw[k] = Float32Array.from(w1, (v, i) => v - w0[i]!);
    }
    const bound = request.plan.updateClip;
    // Adaptive clipping's bit is decided on the RAW update, before it is clipped to the bound.
    const unclipped = request.plan.reportUnclipped && bound !== null ? l2Norm(raw) <= bound : null;
    const delta = bound === null ? raw : clipped(raw, bound).weights;
    return { delta, unclipped, localEpsilon: this.localEpsilon() };
  }

  /** Check an evaluation task against the policy without touching the data (throws PolicyError). */
  admitEvaluation(request: EvaluateRequest, delta: number): void {
    const what = `evaluation in round ${request.round}`;
    this.acceptDelta(delta, what);
    this.checkBudget(evaluationCharge(request), what);
  }

  /**
   * A private evaluation: per held-out example (1, [correct], min(loss, B)/B) — L2 norm ≤ √3 —
   * summed, each sum released with N(0, (z·√3)²) on the lattice, charged to the node's accountant
   * BEFORE the data is read. Returns null when the node has no held-out examples (nothing charged).
   */
  evaluate(request: EvaluateRequest, delta: number): EvaluateReply | null {
    this.admitEvaluation(request, delta);
    if (!this.model.hasHeldOut) return null;
    this.accountant.step(evaluationCharge(request));
    this.model.setWeights(request.weights);
    const e = this.model.evaluate()!;
    const bound = request.mechanism.lossBound;
    let scaledLoss = 0;
    for (const l of e.losses) scaledLoss += Math.min(Math.max(l, 0), bound) / bound;
    const sums = Float64Array.of(e.losses.length, e.correct, scaledLoss);
    const sensitivity = Math.sqrt(3);
    this.options.random.addNoise(sums, request.mechanism.noiseMultiplier * sensitivity, sensitivity);
    return { count: sums[0]!, correct: sums[1]!, lossSum: sums[2]! * bound };
  }
}

function evaluationCharge(r: EvaluateRequest) {
  return { noiseMultiplier: r.mechanism.noiseMultiplier, sampleRate: 1, steps: 1 };
}
