/**
 * The round loop. Per round:
 *   1. wait (bounded) for enough nodes;  2. strategy.configureFit → tasks + privacy events;
 *   3. refuse the round if the events would take the governed unit past the budget;
 *   4. record the events and persist the ledger BEFORE dispatching (never under-count ε);
 *   5. dispatch, collect until the round deadline (stragglers and bad updates become failures);
 *   6. strategy.aggregateFit → server optimiser → persist weights + state, then release;
 *   7. optionally evaluate: the coordinator's own test set, and — only when asked, and only as a
 *      charged Gaussian mechanism — the nodes' held-out splits (events recorded and persisted before
 *      the evaluation tasks leave, like training events).
 */

import type { StateStore } from "../node/state-store.js";
import { crashPoint } from "../persist/crash-points.js";
import { StateError } from "../persist/state-error.js";
import { composePlan, type LocalOptimization } from "../plan/local-training-plan.js";
import type { ServerOptimizer } from "../server-optimizer.js";
import type {
  EvaluateResult,
  Failure,
  FitResult,
  LedgerEvent,
  RoundContext,
  Strategy,
} from "../strategy/types.js";
import { assertCompatible, cloneWeights, type Weights } from "../weights.js";
import type { Budget, PrivacyLedger, PrivacyUnit } from "./ledger.js";
import { type EvaluationMechanismSettings, type NodePool, withDeadline } from "./node-pool.js";
import { type CoordinatorState, type RoundRecord, STATE_VERSION } from "./state.js";

/** A round whose dispatched tasks all failed: the run stops rather than spend ε on nothing. */
export class NoUsableUpdatesError extends Error {
  readonly code = "E_NO_UPDATES";
  constructor(message: string) {
    super(message);
    this.name = "NoUsableUpdatesError";
  }
}

export interface CoordinatorOptions {
  rounds: number;
  minNodes: number;
  /** How long to wait for `minNodes` before giving up (ms). */
  waitForNodesMs: number;
  /** Per-round deadline for updates (ms). */
  roundTimeoutMs: number;
  /** Evaluate every k rounds (and always after the last); 0: only after the last. */
  evaluateEvery: number;
  /**
   * Private federated evaluation on the nodes' held-out splits (example-level runs only): each one
   * is a Gaussian mechanism charged to every evaluating node's accountant. null: nodes never evaluate.
   */
  federatedEvaluation: EvaluationMechanismSettings | null;
  budget: Budget;
  governs: PrivacyUnit;
  /** The run's optimisation settings, composed with each task's FitConfig into its plan. */
  training: LocalOptimization;
  /** Identifies model + scheme + settings; a resume with another fingerprint is refused. */
  fingerprint: string;
  /** The coordinator's own test set, if it has one. */
  evaluateGlobal?: (weights: Weights) => Promise<Record<string, number>>;
}

export type CoordinatorEvent =
  | { type: "waiting"; round: number; connected: number; needed: number }
  | { type: "round-start"; round: number; participants: string[]; events: LedgerEvent[] }
  | { type: "round-end"; record: RoundRecord }
  | { type: "evaluated"; round: number; metrics: Record<string, number> }
  | { type: "evaluation-skipped"; round: number; reason: string }
  | { type: "node-rejected"; round: number; nodeId: string; reason: string }
  | { type: "stopped"; reason: string; completedRound: number };

export interface CoordinatorDeps {
  strategy: Strategy;
  optimizer: ServerOptimizer;
  ledger: PrivacyLedger;
  store: StateStore;
  pool: NodePool;
  initialWeights: Weights;
  onEvent?: (e: CoordinatorEvent) => void;
  /**
   * After a round's weights and state are durable (and its evaluation, if any, charged): the new
   * global weights and the ε spent so far, e.g. to export a model directory every round.
   */
  onRoundSaved?: (round: number, weights: Weights, epsilon: RunSummary["epsilon"]) => void;
}

export interface RunSummary {
  completedRound: number;
  stopReason: string;
  epsilon: { example: number | null; user: number | null };
  metrics: Record<string, number>;
  weights: Weights;
}

/** How a coordinator opens its state directory. */
export interface CoordinatorStart {
  /**
   * Continue the run saved in `deps.store` from its last completed round, with the ε already spent.
   * Default false: start a fresh run, refusing a directory that already holds one.
   */
  resume?: boolean;
}

export class Coordinator {
  private state: CoordinatorState;
  private global: Weights;
  private lastMetrics: Record<string, number> = {};

  constructor(
    private readonly options: CoordinatorOptions,
    private readonly deps: CoordinatorDeps,
    { resume = false }: CoordinatorStart = {},
  ) {
    if (!Number.isSafeInteger(options.rounds) || options.rounds < 1)
      throw new RangeError("rounds must be ≥ 1");
    if (!Number.isSafeInteger(options.minNodes) || options.minNodes < 1)
      throw new RangeError("minNodes must be ≥ 1");
    if (options.federatedEvaluation && options.governs === "user")
      throw new RangeError(
        "federated evaluation releases per-node sums accounted per example; a user-level run evaluates on the coordinator's own test data only",
      );
    this.global = cloneWeights(deps.initialWeights);
    this.state = this.freshState();
    if (resume) {
      if (!deps.store.exists())
        throw new StateError(`nothing to resume: ${deps.store.dir} holds no run (check --state)`);
      this.restore();
    } else if (deps.store.exists()) {
      throw new StateError(
        `${deps.store.dir} already holds a run; pass --resume to continue it or choose another --state`,
      );
    }
  }

  get weights(): Weights {
    return this.global;
  }

  get currentState(): Readonly<CoordinatorState> {
    return this.state;
  }

  epsilon(): { example: number | null; user: number | null } {
    const d = this.options.budget.delta;
    return { example: this.deps.ledger.epsilon("example", d), user: this.deps.ledger.epsilon("user", d) };
  }

  private freshState(): CoordinatorState {
    return {
      version: STATE_VERSION,
      fingerprint: this.options.fingerprint,
      completedRound: 0,
      dispatchedRound: null,
      ledger: this.deps.ledger.toJSON(),
      strategy: this.deps.strategy.saveState(),
      optimizer: this.deps.optimizer.saveState(),
      nodes: {},
      history: [],
      weightsFile: null,
      weightsSha256: null,
      stopReason: null,
    };
  }

  private restore(): void {
    const { state, weights } = this.deps.store.load();
    if (state.fingerprint !== this.options.fingerprint) {
      throw new StateError(
        `cannot resume: ${this.deps.store.dir} was created with different settings (fingerprint ${state.fingerprint}, now ${this.options.fingerprint})`,
      );
    }
    if (weights) {
      try {
        assertCompatible(weights, this.deps.initialWeights, "saved global weights");
      } catch (err) {
        throw new StateError((err as Error).message);
      }
      this.global = weights;
    }
    this.checkLedgerCoversHistory(state);
    this.deps.strategy.loadState(state.strategy);
    this.deps.optimizer.loadState(state.optimizer);
    this.state = { ...state, stopReason: null };
    this.lastMetrics = state.history.at(-1)?.metrics ?? {};
  }

  /**
   * The saved ledger must account for at least every event the completed rounds record: a ledger
   * that was emptied, truncated or swapped for an older one would under-count ε, so resuming from it
   * is refused. (Events of a dispatched-but-unfinished round are in the ledger only — more, never less.)
   */
  private checkLedgerCoversHistory(state: CoordinatorState): void {
    const { ledger } = this.deps;
    const implied = ledger.empty();
    for (const r of state.history) {
      if (!Array.isArray(r.events))
        throw new StateError(`state: round ${r.round} has no privacy events recorded`);
      implied.record(r.events);
    }
    const d = this.options.budget.delta;
    const short = (have: number | null, need: number | null) => (need ?? 0) > (have ?? 0) + 1e-9;
    if (short(ledger.epsilon("user", d), implied.epsilon("user", d)))
      throw new StateError(
        `the saved ledger spends less user-level ε than its ${state.history.length} completed rounds did; refusing to resume`,
      );
    const have = ledger.exampleEpsilonByNode(d);
    for (const [node, need] of Object.entries(implied.exampleEpsilonByNode(d))) {
      if (short(have[node] ?? null, need))
        throw new StateError(
          `the saved ledger spends less ε for node ${node.slice(0, 12)}… than the completed rounds did (${(have[node] ?? 0).toFixed(3)} < ${need.toFixed(3)}); refusing to resume`,
        );
    }
  }

  private emit(e: CoordinatorEvent): void {
    this.deps.onEvent?.(e);
  }

  private touchNode(id: string, patch: (r: CoordinatorState["nodes"][string]) => void): void {
    const now = new Date().toISOString();
    this.state.nodes[id] ??= { firstSeen: now, lastSeen: now, roundsCompleted: 0, rejectedMessages: 0 };
    const r = this.state.nodes[id];
    r.lastSeen = now;
    patch(r);
  }

  /** Run rounds until done, the budget is spent, or nodes fail to show up. */
  async run(): Promise<RunSummary> {
    let stopReason = "completed";
    try {
      while (this.state.completedRound < this.options.rounds) {
        const outcome = await this.runRound(this.state.completedRound + 1);
        if (outcome === "budget") {
          stopReason = "budget-exhausted";
          break;
        }
      }
    } catch (err) {
      stopReason = `error: ${(err as Error).message}`;
      this.finishState(stopReason);
      await this.deps.pool.finish(stopReason);
      throw err;
    }
    this.finishState(stopReason);
    await this.deps.pool.finish(stopReason);
    return {
      completedRound: this.state.completedRound,
      stopReason,
      epsilon: this.epsilon(),
      metrics: this.lastMetrics,
      weights: this.global,
    };
  }

  private finishState(reason: string): void {
    this.state.stopReason = reason;
    this.deps.store.saveState(this.state);
    this.emit({ type: "stopped", reason, completedRound: this.state.completedRound });
  }

  private async runRound(round: number): Promise<"done" | "budget"> {
    const t0 = performance.now();
    const { pool, strategy, ledger, store } = this.deps;
    if (pool.nodes().length < this.options.minNodes) {
      this.emit({ type: "waiting", round, connected: pool.nodes().length, needed: this.options.minNodes });
    }
    const nodes = await pool.waitForNodes(this.options.minNodes, Date.now() + this.options.waitForNodesMs);
    const ctx: RoundContext = { round, global: this.global, nodes };
    const plan = strategy.configureFit(ctx);

    const check = ledger.check(plan.events, this.options.governs, this.options.budget);
    if (!check.ok) return "budget";
    ledger.record(plan.events);
    this.state.ledger = ledger.toJSON();
    this.state.dispatchedRound = round;
    crashPoint("ledger-before");
    store.saveState(this.state); // durable before any node touches its data
    crashPoint("ledger-after");

    this.emit({
      type: "round-start",
      round,
      participants: plan.tasks.map((t) => t.nodeId),
      events: plan.events,
    });
    const deadline = Date.now() + this.options.roundTimeoutMs;
    const settled = await Promise.allSettled(
      plan.tasks.map((t) =>
        withDeadline(
          (signal) =>
            pool.fit(
              t.nodeId,
              {
                round,
                weights: this.global,
                plan: composePlan(this.options.training, t.config, this.options.budget.delta),
                deadline,
              },
              signal,
            ),
          deadline,
          `round ${round} update from ${t.nodeId}`,
        ),
      ),
    );
    const results: FitResult[] = [];
    const failures: Failure[] = [];
    settled.forEach((s, i) => {
      const nodeId = plan.tasks[i]!.nodeId;
      if (s.status === "rejected") {
        failures.push({ nodeId, reason: (s.reason as Error).message ?? String(s.reason) });
        return;
      }
      try {
        assertCompatible(s.value.delta, this.global, `update from ${nodeId}`);
      } catch (err) {
        const reason = (err as Error).message;
        failures.push({ nodeId, reason });
        this.touchNode(nodeId, (r) => {
          r.rejectedMessages += 1;
        });
        this.emit({ type: "node-rejected", round, nodeId, reason });
        return;
      }
      results.push({ nodeId, delta: s.value.delta, unclipped: s.value.unclipped });
      this.touchNode(nodeId, (r) => {
        r.roundsCompleted += 1;
      });
    });

    if (plan.tasks.length > 0 && results.length === 0) {
      // Nothing to aggregate: stop instead of spending the rest of the budget on rounds like this
      // one. (Its events stay in the ledger: they were dispatched, so they count.)
      const why = failures.map((f) => `${f.nodeId.slice(0, 12)}…: ${f.reason}`).join("; ");
      throw new NoUsableUpdatesError(`round ${round} brought no usable update (${why})`);
    }
    const outcome = strategy.aggregateFit(ctx, results, failures);
    const next = this.deps.optimizer.apply(this.global, outcome.delta);
    const metrics = { ...outcome.metrics };
    const record: RoundRecord = {
      round,
      participants: results.map((r) => r.nodeId),
      failures,
      metrics,
      epsilon: this.epsilon(),
      seconds: 0,
      events: plan.events,
    };
    this.state.completedRound = round;
    this.state.dispatchedRound = null;
    this.state.strategy = strategy.saveState();
    this.state.optimizer = this.deps.optimizer.saveState();
    this.state.history.push(record);
    store.saveRound(this.state, next); // weights + ledger durable before the new model is released
    this.global = next;

    if (isEvaluationRound(round, this.options.rounds, this.options.evaluateEvery)) {
      Object.assign(metrics, await this.evaluate(round, ctx, record));
      record.epsilon = this.epsilon(); // a private evaluation spends ε too
    }
    record.seconds = (performance.now() - t0) / 1000;
    store.saveState(this.state);
    crashPoint("round-end");
    this.deps.onRoundSaved?.(round, this.global, this.epsilon());
    this.lastMetrics = metrics;
    this.emit({ type: "round-end", record });
    return "done";
  }

  private async evaluate(
    round: number,
    ctx: RoundContext,
    record: RoundRecord,
  ): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const mechanism = this.options.federatedEvaluation;
    if (mechanism) Object.assign(out, await this.evaluateOnNodes(round, ctx, mechanism, record));
    if (this.options.evaluateGlobal) {
      for (const [k, v] of Object.entries(await this.options.evaluateGlobal(this.global)))
        out[`test_${k}`] = v;
    }
    this.emit({ type: "evaluated", round, metrics: out });
    return out;
  }

  /** Charge, persist, then dispatch a private evaluation to the strategy's chosen nodes. */
  private async evaluateOnNodes(
    round: number,
    ctx: RoundContext,
    mechanism: EvaluationMechanismSettings,
    record: RoundRecord,
  ): Promise<Record<string, number>> {
    const { ledger, store, strategy, pool } = this.deps;
    const ids = strategy.configureEvaluate({ ...ctx, global: this.global });
    const events = ids.map((id) => evaluationEvent(id, mechanism));
    if (!ledger.check(events, "example", this.options.budget).ok) {
      this.emit({ type: "evaluation-skipped", round, reason: "it would exceed the privacy budget" });
      return {};
    }
    ledger.record(events);
    record.events.push(...events);
    this.state.ledger = ledger.toJSON();
    store.saveState(this.state); // charged and durable before any node evaluates
    const deadline = Date.now() + this.options.roundTimeoutMs;
    const settled = await Promise.allSettled(
      ids.map((id) =>
        withDeadline(
          (signal) => pool.evaluate(id, { round, weights: this.global, deadline, mechanism }, signal),
          deadline,
          `round ${round} evaluation by ${id}`,
        ),
      ),
    );
    const results: EvaluateResult[] = [];
    settled.forEach((s, i) => {
      if (s.status === "fulfilled") results.push({ nodeId: ids[i]!, ...s.value });
    });
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(strategy.aggregateEvaluate(ctx, results))) out[`federated_${k}`] = v;
    return out;
  }
}

/** Rounds after which the coordinator evaluates: every k-th, and always the last. */
export function isEvaluationRound(round: number, rounds: number, every: number): boolean {
  return round === rounds || (every > 0 && round % every === 0);
}

/** The privacy event of one private evaluation on a node's examples (a single Gaussian release, q = 1). */
export function evaluationEvent(nodeId: string, m: EvaluationMechanismSettings): LedgerEvent {
  return { unit: "example", subject: nodeId, noiseMultiplier: m.noiseMultiplier, sampleRate: 1, steps: 1 };
}
