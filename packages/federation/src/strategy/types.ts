/**
 * The Strategy seam (after Flower's): a strategy decides which nodes train and with what settings,
 * and turns their results into one aggregate update. The round loop in the coordinator stays small
 * and knows nothing of averaging or noise. Named objects only — no positional tuples.
 */
import type { Weights } from "../weights.js";

export interface NodeInfo {
  id: string;
  /** Training examples the node holds (treated as public, as DP-SGD treats the dataset size). */
  numExamples: number;
}

/** Settings a node receives for one round of local training (serialised into the round task). */
export interface FitConfig {
  /** Local DP-SGD (example-level). null: no per-example DP on the node. */
  localDp: { noiseMultiplier: number; clipNorm: number; sampleRate: number; steps: number } | null;
  /** The node clips its whole update Δ to this L2 norm before sending (user-level DP / robustness). */
  updateClipNorm: number | null;
  [key: string]: unknown;
}

export interface FitTask {
  nodeId: string;
  config: FitConfig;
}

/**
 * One application of a Gaussian mechanism, for the central accountant. `subject` is the node whose
 * examples it touches (example-level) or "*" for the population of users (user-level).
 */
export interface PrivacyEvent {
  unit: "example" | "user";
  subject: string;
  noiseMultiplier: number;
  sampleRate: number;
  steps: number;
}

export interface FitPlan {
  tasks: FitTask[];
  /** What running this round spends; the coordinator checks and records it before dispatching. */
  events: PrivacyEvent[];
}

export interface FitResult {
  nodeId: string;
  delta: Weights;
  numExamples: number;
  metrics: Record<string, number>;
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

export interface EvaluateResult {
  nodeId: string;
  numExamples: number;
  metrics: Record<string, number>;
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
  /** Uniform in [0, 1). */
  uniform(): number;
  /** target[i] += N(0, std²), independently. */
  addGaussian(target: Float32Array, std: number): void;
  /** One N(0, std²) draw. */
  gaussian(std: number): number;
}
