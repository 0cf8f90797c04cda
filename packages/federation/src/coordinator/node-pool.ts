/**
 * The coordinator's view of its nodes, behind an interface: in production a pool of authenticated
 * socket.io sessions; in unit tests an in-process pool of real trainers. The round loop never sees
 * a socket.
 */
import type { LocalTrainingPlan } from "../plan/local-training-plan.js";
import type { Weights } from "../weights.js";

export interface PoolNode {
  id: string;
}

export interface FitRequest {
  round: number;
  weights: Weights;
  /** How to train: the run's settings with the strategy's decisions for this node. */
  plan: LocalTrainingPlan;
  /** Absolute deadline (ms since epoch) by which the update must arrive. */
  deadline: number;
}

export interface FitReply {
  delta: Weights;
  /** Adaptive clipping's bit when the task asked for it, else null. */
  unclipped: boolean | null;
  /** ε the node's own accountant reports for its examples (informational; the ledger is authoritative). */
  localEpsilon: number | null;
}

/** The Gaussian mechanism a node's evaluation runs under (charged before it is dispatched). */
export interface EvaluationMechanismSettings {
  /** z: each of (count, correct, loss/bound) gets N(0, (z·√3)²); one example moves them by ≤ √3 jointly. */
  noiseMultiplier: number;
  /** Per-example losses are clipped to [0, lossBound]. */
  lossBound: number;
}

export interface EvaluateRequest {
  round: number;
  weights: Weights;
  deadline: number;
  mechanism: EvaluationMechanismSettings;
}

/** Noised sums over a node's held-out examples. */
export interface EvaluateReply {
  count: number;
  correct: number;
  /** Σ min(loss, bound) + noise, in nats. */
  lossSum: number;
}

export interface NodePool {
  /** Nodes connected and authenticated right now. */
  nodes(): PoolNode[];
  /** Resolve once at least `min` nodes are connected; reject with E_NOT_ENOUGH_NODES at `deadline`. */
  waitForNodes(min: number, deadline: number): Promise<PoolNode[]>;
  fit(nodeId: string, request: FitRequest, signal: AbortSignal): Promise<FitReply>;
  evaluate(nodeId: string, request: EvaluateRequest, signal: AbortSignal): Promise<EvaluateReply>;
  /** The run is over (completed, budget spent, or failed): tell nodes so they can exit. */
  finish(reason: string): Promise<void>;
}

export class NotEnoughNodesError extends Error {
  readonly code = "E_NOT_ENOUGH_NODES";
  constructor(have: number, want: number, waitedMs: number) {
    super(
      `only ${have} of the ${want} required nodes connected after waiting ${Math.round(waitedMs / 1000)} s`,
    );
    this.name = "NotEnoughNodesError";
  }
}

export class DeadlineError extends Error {
  readonly code = "E_TIMEOUT";
  constructor(what: string) {
    super(`${what}: deadline passed`);
    this.name = "DeadlineError";
  }
}

/** Race `work` against an absolute deadline; aborts `controller` when the deadline wins. */
export function withDeadline<T>(
  work: (signal: AbortSignal) => Promise<T>,
  deadline: number,
  what: string,
): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        controller.abort();
        reject(new DeadlineError(what));
      },
      Math.max(0, deadline - Date.now()),
    );
    work(controller.signal).then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
