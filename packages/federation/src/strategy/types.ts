/**
 * The Strategy seam (after Flower's): a strategy decides which nodes train and with what settings,
 * and turns their results into one aggregate update. The round loop in the coordinator stays small
 * and knows nothing of averaging or noise. Named objects only — no positional tuples.
 */
import type { PrivacyEvent } from "@memarc/privacy";
import type { Weights } from "../weights.js";

export interface NodeInfo {
  /** The node's identity. Nothing computed from its data (not even its example count) is known here. */
  id: string;
}

/**
 * Local DP-SGD a node runs (example-level). Every field is fixed by the run's plan, never derived
 * from a node's data: with the same q for every node the coordinator needs no example counts.
 */
export interface LocalDpSettings {
  noiseMultiplier: number;
  /** Per-example clip norm C (not the update clip S of user-level DP). */
  perExampleClip: number;
  /** Poisson sampling rate q of the node's examples. */
  sampleRate: number;
  /**
   * Fixed denominator of the noisy gradient mean (the plan's expected batch). Not q·N: an update
   * scaled by the node's example count would let the coordinator estimate that count.
   */
  expectedBatchSize: number;
  steps: number;
}

/**
 * A strategy's decisions for one node's round: the privacy half of its LocalTrainingPlan (the
 * coordinator adds the run's optimisation settings, plan/local-training-plan.ts).
 */
export interface FitConfig {
  /** Local DP-SGD (example-level). null: no per-example DP on the node. */
  localDp: LocalDpSettings | null;
  /** The node clips its whole update Δ to this L2 norm S before sending (user-level DP / robustness). */
  updateClip: number | null;
  /** Adaptive clipping: ask the node for the bit [‖raw Δ‖ ≤ updateClip]. */
  reportUnclipped?: boolean;
}

export interface FitTask {
  nodeId: string;
  config: FitConfig;
}

/**
 * One application of a Gaussian mechanism, for the central ledger: an accountant's PrivacyEvent
 * (σ, q, steps) plus whose ledger account it is charged to. `subject` is the node whose examples it
 * touches (example-level) or "*" for the population of users (user-level).
 */
export interface LedgerEvent extends PrivacyEvent {
  unit: "example" | "user";
  subject: string;
}

export interface FitPlan {
  tasks: FitTask[];
  /** What running this round spends; the coordinator checks and records it before dispatching. */
  events: LedgerEvent[];
}

export interface FitResult {
  nodeId: string;
  delta: Weights;
  /** Adaptive clipping's bit, when the task asked for it (released only inside a noised count). */
  unclipped: boolean | null;
}

export interface Failure {
  nodeId: string;
  reason: string;
}

export interface RoundContext {
  round: number;
  /** Current global trainable weights (read-only for strategies). */
  global: Weights;
  /** Nodes connected and eligible this round. */
  nodes: NodeInfo[];
}

export interface AggregateOutcome {
  /** The update to apply to the global weights (the server optimiser's pseudo-gradient). */
  delta: Weights;
  metrics: Record<string, number>;
}

/** A node's private evaluation: noised sums (see EvaluationMechanism in @memarc/protocol). */
export interface EvaluateResult {
  nodeId: string;
  /** Σ 1 + noise. */
  count: number;
  /** Σ [correct] + noise. */
  correct: number;
  /** Σ min(loss, bound) + noise (already multiplied back by the bound). */
  lossSum: number;
}

export interface Strategy {
  readonly name: string;
  configureFit(ctx: RoundContext): FitPlan;
  /** `results` are already validated against ctx.global's tensor names and sizes. */
  aggregateFit(ctx: RoundContext, results: FitResult[], failures: Failure[]): AggregateOutcome;
  configureEvaluate(ctx: RoundContext): string[];
  aggregateEvaluate(ctx: RoundContext, results: EvaluateResult[]): Record<string, number>;
  /** Strategy state that must survive a coordinator restart (e.g. an adaptive clip norm). */
  saveState(): Record<string, unknown>;
  loadState(state: Record<string, unknown>): void;
}

/** Randomness for mechanisms. Production wiring uses a CSPRNG; tests may pass a seeded one. */
export interface MechanismRandom {
  /** Uniform in (0, 1) (node sampling). */
  uniform(): number;
  /**
   * Release `parts` (ONE vector split over several arrays) through the Gaussian mechanism in place:
   * noise of standard deviation `std` for L2 sensitivity `sensitivity` (production: the lattice
   * mechanism of @memarc/privacy, exact integer noise).
   */
  addNoise(parts: ReadonlyArray<Float32Array | Float64Array>, std: number, sensitivity: number): void;
}
