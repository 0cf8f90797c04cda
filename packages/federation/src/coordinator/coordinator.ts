/**
 * The round loop. Per round:
 *   1. wait (bounded) for enough nodes;  2. strategy.configureFit → tasks + privacy events;
 *   3. refuse the round if the events would take the governed unit past the budget;
 *   4. record the events and persist the ledger BEFORE dispatching (never under-count ε);
 *   5. dispatch, collect until the round deadline (stragglers and bad updates become failures);
 *   6. strategy.aggregateFit → server optimiser → persist weights + state, then release;
 *   7. optionally evaluate (nodes' held-out splits and the coordinator's own test set).
 */
import type { ServerOptimizer } from "../server-optimizer.js";
import type {
  EvaluateResult,
  Failure,
  FitResult,
  PrivacyEvent,
  RoundContext,
  Strategy,
} from "../strategy/types.js";
import { assertCompatible, cloneWeights, type Weights } from "../weights.js";
import type { Budget, PrivacyLedger, PrivacyUnit } from "./ledger.js";
import { type NodePool, withDeadline } from "./node-pool.js";
import {
  type CoordinatorState,
  type RoundRecord,
  STATE_VERSION,
  StateError,
  type StateStore,
} from "./state-store.js";

export interface CoordinatorOptions {
  rounds: number;
  minNodes: number;
  /** How long to wait for `minNodes` before giving up (ms). */
  waitForNodesMs: number;
  /** Per-round deadline for updates (ms). */
  roundTimeoutMs: number;
  /** Evaluate every k rounds (and always after the last); 0 disables node evaluation. */
  evaluateEvery: number;
  budget: Budget;
  governs: PrivacyUnit;
  /** Settings merged into every task's config (scheme, local optimiser, learning rate, ...). */
  training: Record<string, unknown>;
  /** Identifies model + scheme + settings; a resume with another fingerprint is refused. */
  fingerprint: string;
  /** The coordinator's own test set, if it has one. */
  evaluateGlobal?: (weights: Weights) => Promise<Record<string, number>>;
}

export type CoordinatorEvent =
  | { type: "waiting"; round: number; connected: number; needed: number }
  | { type: "round-start"; round: number; participants: string[]; events: PrivacyEvent[] }
  | { type: "round-end"; record: RoundRecord }
  | { type: "evaluated"; round: number; metrics: Record<string, number> }
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
}

export interface RunSummary {
  completedRound: number;
  stopReason: string;
  epsilon: { example: number | null; user: number | null };
  metrics: Record<string, number>;
  weights: Weights;
}

export class Coordinator {
  private state: CoordinatorState;
  private global: Weights;
  private lastMetrics: Record<string, number> = {};

  constructor(
    private readonly options: CoordinatorOptions,
    private readonly deps: CoordinatorDeps,
    resume: boolean,
  ) {
    if (!Number.isSafeInteger(options.rounds) || options.rounds < 1)
      throw new RangeError("rounds must be ≥ 1");
    if (!Number.isSafeInteger(options.minNodes) || options.minNodes < 1)
      throw new RangeError("minNodes must be ≥ 1");
    this.global = cloneWeights(deps.initialWeights);
    this.state = this.freshState();
    if (resume) this.restore();
    else if (deps.store.exists()) {
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
      assertCompatible(weights, this.deps.initialWeights, "saved global weights");
      this.global = weights;
    }
    this.deps.strategy.loadState(state.strategy);
    this.deps.optimizer.loadState(state.optimizer);
    this.state = { ...state, stopReason: null };
    this.lastMetrics = state.history.at(-1)?.metrics ?? {};
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
    store.saveState(this.state); // durable before any node touches its data

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
              { round, weights: this.global, config: { ...this.options.training, ...t.config }, deadline },
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
        if (!Number.isSafeInteger(s.value.numExamples) || s.value.numExamples < 0) {
          throw new RangeError(`update from ${nodeId}: bad example count ${s.value.numExamples}`);
        }
      } catch (err) {
        const reason = (err as Error).message;
        failures.push({ nodeId, reason });
        this.touchNode(nodeId, (r) => {
          r.rejectedMessages += 1;
        });
        this.emit({ type: "node-rejected", round, nodeId, reason });
        return;
      }
      results.push({
        nodeId,
        delta: s.value.delta,
        numExamples: s.value.numExamples,
        metrics: s.value.metrics,
      });
      this.touchNode(nodeId, (r) => {
        r.roundsCompleted += 1;
      });
    });

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
    };
    this.state.completedRound = round;
    this.state.dispatchedRound = null;
    this.state.strategy = strategy.saveState();
    this.state.optimizer = this.deps.optimizer.saveState();
    this.state.history.push(record);
    store.saveRound(this.state, next); // weights + ledger durable before the new model is released
    this.global = next;

    const last = round === this.options.rounds;
    if (last || (this.options.evaluateEvery > 0 && round % this.options.evaluateEvery === 0)) {
      Object.assign(metrics, await this.evaluate(round, ctx));
    }
    record.seconds = (performance.now() - t0) / 1000;
    store.saveState(this.state);
    this.lastMetrics = metrics;
    this.emit({ type: "round-end", record });
    return "done";
  }

  private async evaluate(round: number, ctx: RoundContext): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    if (this.options.evaluateEvery > 0) {
      const ids = this.deps.strategy.configureEvaluate({ ...ctx, global: this.global });
      const deadline = Date.now() + this.options.roundTimeoutMs;
      const settled = await Promise.allSettled(
        ids.map((id) =>
          withDeadline(
            (signal) => this.deps.pool.evaluate(id, { round, weights: this.global, deadline }, signal),
            deadline,
            `round ${round} evaluation by ${id}`,
          ),
        ),
      );
      const results: EvaluateResult[] = [];
      settled.forEach((s, i) => {
        if (s.status === "fulfilled") results.push({ nodeId: ids[i]!, ...s.value });
      });
      for (const [k, v] of Object.entries(this.deps.strategy.aggregateEvaluate(ctx, results)))
        out[`federated_${k}`] = v;
    }
    if (this.options.evaluateGlobal) {
      for (const [k, v] of Object.entries(await this.options.evaluateGlobal(this.global)))
        out[`test_${k}`] = v;
    }
    this.emit({ type: "evaluated", round, metrics: out });
    return out;
  }
}
