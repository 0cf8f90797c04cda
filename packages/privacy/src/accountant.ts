/**
 * Privacy accountants: a history of DP-SGD events (noise multiplier σ, Poisson sampling rate q,
 * steps), composed heterogeneously. RDP and PLD share one interface and one implementation of the
 * history (step, merge, budget checks, serialisation); they differ only in how they turn the history
 * into (ε, δ).
 */
import {
  composedRange,
  composePmfs,
  identityPmf,
  type LossPmf,
  pmfDelta,
  pmfEpsilon,
  subsampledGaussianPmf,
} from "./pld.js";
import { DEFAULT_ORDERS, rdpSingleStep, rdpToDelta, rdpToEpsilon, validateMechanism } from "./rdp.js";

export type AccountantKind = "rdp" | "pld";

/** One homogeneous stretch of training: `steps` steps with the same σ and q. */
export interface PrivacyEvent {
  noiseMultiplier: number;
  sampleRate: number;
  steps: number;
}

export interface StepInput {
  noiseMultiplier: number;
  sampleRate: number;
  /** Default 1. */
  steps?: number;
}

export interface PrivacyBudget {
  epsilon: number;
  delta: number;
}

export interface PrivacySpent {
  epsilon: number;
  delta: number;
  accountant: AccountantKind;
  /** RDP: the order at which the conversion is tightest. */
  order?: number;
  /** PLD: grid width Δ of the discretised privacy loss. */
  discretizationInterval?: number;
  /** PLD: the reported ε over-estimates the exact one by at most this (steps·Δ); it never under-estimates. */
  epsilonErrorBound?: number;
  /** PLD: tail mass cut by truncation and counted as infinite loss (already inside δ). */
  truncatedMass?: number;
}

/** Thrown by `spend`/`stepWithinBudget` when an event would push ε past the budget. */
export class BudgetExhaustedError extends Error {
  readonly code = "E_BUDGET_EXHAUSTED";
  constructor(
    message: string,
    readonly epsilonAfter: number,
    readonly budget: PrivacyBudget,
  ) {
    super(message);
    this.name = "BudgetExhaustedError";
  }
}

export interface PldOptions {
  /** Fixed grid width Δ. Default: chosen per query as the finest grid that fits in maxGridSize, but
   * no finer than targetEpsilonError / totalSteps. */
  discretizationInterval?: number;
  /** Largest FFT length (power of two). Default 2^21 (~1 s for 10^4 steps). */
  maxGridSize?: number;
  /** Aim for epsilonErrorBound ≤ this when the grid allows. Default 1e-3. */
  targetEpsilonError?: number;
  /** Tail truncation level e^{−tailLog} for the composed PLD. Default 46 (≈1e-20). */
  tailLog?: number;
}

export type AccountantState =
  | { kind: "rdp"; version: 1; orders: number[]; history: PrivacyEvent[] }
  | { kind: "pld"; version: 1; options: PldOptions; history: PrivacyEvent[] };

function validateEvent(e: StepInput): PrivacyEvent {
  const steps = e.steps ?? 1;
  if (!Number.isFinite(e.noiseMultiplier))
    throw new RangeError(`noiseMultiplier must be finite, got ${e.noiseMultiplier}`);
  validateMechanism(e.noiseMultiplier, e.sampleRate);
  if (!Number.isSafeInteger(steps) || steps < 1)
    throw new RangeError(`steps must be a positive integer, got ${steps}`);
  return { noiseMultiplier: e.noiseMultiplier, sampleRate: e.sampleRate, steps };
}

function validateDelta(delta: number): void {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta must be in (0, 1), got ${delta}`);
}

/** The shared part of every accountant: history, merging, budget checks. */
export abstract class PrivacyAccountant {
  abstract readonly kind: AccountantKind;
  protected readonly events: PrivacyEvent[] = [];

  constructor(history: readonly PrivacyEvent[] = []) {
    for (const e of history) this.step(e);
  }

  /** Events in order; consecutive events with equal σ and q are merged. */
  get history(): readonly PrivacyEvent[] {
    return this.events.map((e) => ({ ...e }));
  }

  get totalSteps(): number {
    return this.events.reduce((s, e) => s + e.steps, 0);
  }

  /** Record `steps` (default 1) steps of the subsampled Gaussian mechanism. */
  step(event: StepInput): this {
    const e = validateEvent(event);
    const last = this.events[this.events.length - 1];
    if (last && last.noiseMultiplier === e.noiseMultiplier && last.sampleRate === e.sampleRate)
      last.steps += e.steps;
    else this.events.push(e);
    this.changed();
    return this;
  }

  getEpsilon(delta: number): number {
    return this.getPrivacySpent(delta).epsilon;
  }

  /** Would ε stay within the budget after `event`? (The accountant itself is not changed.) */
  canSpend(event: StepInput, budget: PrivacyBudget): boolean {
    return this.epsilonAfter(event, budget) <= budget.epsilon;
  }

  /** Step only if the budget allows it; otherwise throw BudgetExhaustedError and leave the history alone. */
  spend(event: StepInput, budget: PrivacyBudget): this {
    const eps = this.epsilonAfter(event, budget);
    if (!(eps <= budget.epsilon)) {
      throw new BudgetExhaustedError(
        `privacy budget exhausted: ${event.steps ?? 1} more step(s) at σ=${event.noiseMultiplier}, q=${event.sampleRate} ` +
          `would reach ε=${eps.toPrecision(6)} > ${budget.epsilon} at δ=${budget.delta}`,
        eps,
        { ...budget },
      );
    }
    return this.step(event);
  }

  /** Alias of `spend`. */
  stepWithinBudget(event: StepInput, budget: PrivacyBudget): this {
    return this.spend(event, budget);
  }

  private epsilonAfter(event: StepInput, budget: PrivacyBudget): number {
    validateDelta(budget.delta);
    const c = this.clone();
    c.step(event);
    return c.getEpsilon(budget.delta);
  }

  /** Hook for subclasses that cache results derived from the history. */
  protected changed(): void {}

  abstract getPrivacySpent(delta: number): PrivacySpent;
  abstract getDelta(epsilon: number): number;
  abstract clone(): PrivacyAccountant;
  abstract toJSON(): AccountantState;
}

/** Rényi-DP accountant (exact subsampled-Gaussian RDP, improved RDP→DP conversion). */
export class RdpAccountant extends PrivacyAccountant {
  readonly kind = "rdp" as const;
  readonly orders: readonly number[];

  constructor(options: { orders?: readonly number[] } = {}, history: readonly PrivacyEvent[] = []) {
    super(history);
    const orders = options.orders ?? DEFAULT_ORDERS;
    for (const a of orders)
      if (!(a > 1) || !Number.isFinite(a))
        throw new RangeError(`RDP orders must be finite and > 1, got ${a}`);
    this.orders = Object.freeze([...orders]);
  }

  /** Total RDP at each order. */
  rdp(): number[] {
    const total = this.orders.map(() => 0);
    for (const e of this.events) {
      for (let i = 0; i < this.orders.length; i++) {
        const r = rdpSingleStep(e.sampleRate, e.noiseMultiplier, this.orders[i]!);
        if (r !== 0) total[i]! += r * e.steps;
      }
    }
    return total;
  }

  getPrivacySpent(delta: number): PrivacySpent {
    validateDelta(delta);
    const { epsilon, order } = rdpToEpsilon(this.orders, this.rdp(), delta);
    return { epsilon, delta, accountant: "rdp", order };
  }

  getDelta(epsilon: number): number {
    return rdpToDelta(this.orders, this.rdp(), epsilon).delta;
  }

  clone(): RdpAccountant {
    return new RdpAccountant({ orders: this.orders }, this.events);
  }

  toJSON(): AccountantState {
    return { kind: "rdp", version: 1, orders: [...this.orders], history: this.history.slice() };
  }

  static fromJSON(state: AccountantState): RdpAccountant {
    if (state.kind !== "rdp") throw new TypeError(`expected an "rdp" accountant state, got "${state.kind}"`);
    return new RdpAccountant({ orders: state.orders }, state.history);
  }
}

interface ComposedPair {
  add: LossPmf;
  remove: LossPmf;
  interval: number;
  truncatedMass: number;
}

/**
 * Privacy-loss-distribution accountant: pessimistically discretised PLDs of the subsampled Gaussian
 * for both add and remove adjacency, composed by FFT; reports the worse of the two.
 */
export class PldAccountant extends PrivacyAccountant {
  readonly kind = "pld" as const;
  readonly options: Readonly<PldOptions>;
  private cache: ComposedPair | undefined;

  constructor(options: PldOptions = {}, history: readonly PrivacyEvent[] = []) {
    super(history);
    if (options.discretizationInterval !== undefined && !(options.discretizationInterval > 0))
      throw new RangeError(`discretizationInterval must be > 0, got ${options.discretizationInterval}`);
    this.options = Object.freeze({ ...options });
  }

  protected override changed(): void {
    this.cache = undefined;
  }

  private composed(): ComposedPair {
    if (this.cache) return this.cache;
    const maxSize = this.options.maxGridSize ?? 2 ** 21;
    const tailLog = this.options.tailLog ?? 46;
    let interval = this.options.discretizationInterval ?? this.autoInterval(maxSize, tailLog);
    for (let attempt = 0; ; attempt++) {
      try {
        const build = (adjacency: "add" | "remove") =>
          composePmfs(
            this.events.map((e) => ({
              pmf: subsampledGaussianPmf(e.noiseMultiplier, e.sampleRate, adjacency, interval),
              count: e.steps,
            })),
            { maxSize, tailLog },
          );
        const remove = this.events.length ? build("remove") : { ...identityPmf(interval), truncatedMass: 0 };
        // With q = 1 everywhere the two adjacencies give the same loss distribution.
        const symmetric = this.events.every((e) => e.sampleRate === 1 && e.noiseMultiplier > 0);
        const add = this.events.length && !symmetric ? build("add") : remove;
        this.cache = {
          add,
          remove,
          interval,
          truncatedMass: Math.max(add.truncatedMass, remove.truncatedMass),
        };
        return this.cache;
      } catch (err) {
        if (this.options.discretizationInterval !== undefined || attempt >= 4 || !(err instanceof RangeError))
          throw err;
        interval *= 2;
      }
    }
  }

  /** The finest Δ whose composed support fits the grid, but no finer than targetEpsilonError/T. */
  private autoInterval(maxSize: number, tailLog: number): number {
    const T = Math.max(1, this.totalSteps);
    const finest = (this.options.targetEpsilonError ?? 1e-3) / T;
    // Size the support with an unbiased (round-to-nearest) coarse grid.
    const coarse = Math.max(finest, 1e-3);
    let widthNats = 0;
    for (const adjacency of ["add", "remove"] as const) {
      const parts = this.events.map((e) => ({
        pmf: subsampledGaussianPmf(e.noiseMultiplier, e.sampleRate, adjacency, coarse, "nearest"),
        count: e.steps,
      }));
      const r = composedRange(parts, tailLog);
      widthNats = Math.max(widthNats, (r.hi - r.lo + 2) * coarse);
      for (const p of parts) widthNats = Math.max(widthNats, (p.pmf.mass.length + 2) * coarse);
    }
    return Math.max(finest, (widthNats * 1.05) / (maxSize - 2));
  }

  getPrivacySpent(delta: number): PrivacySpent {
    validateDelta(delta);
    const c = this.composed();
    const epsilon = Math.max(pmfEpsilon(c.add, delta), pmfEpsilon(c.remove, delta));
    return {
      epsilon,
      delta,
      accountant: "pld",
      discretizationInterval: c.interval,
      epsilonErrorBound: c.interval * this.totalSteps,
      truncatedMass: c.truncatedMass,
    };
  }

  getDelta(epsilon: number): number {
    if (!(epsilon >= 0)) throw new RangeError(`epsilon must be ≥ 0, got ${epsilon}`);
    const c = this.composed();
    return Math.max(pmfDelta(c.add, epsilon), pmfDelta(c.remove, epsilon));
  }

  clone(): PldAccountant {
    return new PldAccountant(this.options, this.events);
  }

  toJSON(): AccountantState {
    return { kind: "pld", version: 1, options: { ...this.options }, history: this.history.slice() };
  }

  static fromJSON(state: AccountantState): PldAccountant {
    if (state.kind !== "pld") throw new TypeError(`expected a "pld" accountant state, got "${state.kind}"`);
    return new PldAccountant(state.options, state.history);
  }
}

export interface AccountantOptions {
  orders?: readonly number[];
  pld?: PldOptions;
}

export function createAccountant(kind: AccountantKind, options: AccountantOptions = {}): PrivacyAccountant {
  if (kind === "rdp") return new RdpAccountant(options.orders ? { orders: options.orders } : {});
  if (kind === "pld") return new PldAccountant(options.pld ?? {});
  throw new RangeError(`unknown accountant "${kind as string}"; expected rdp or pld`);
}

/** Rebuild an accountant from `toJSON()` output (or its JSON text). */
export function accountantFromJSON(state: AccountantState | string): PrivacyAccountant {
  const s = (typeof state === "string" ? JSON.parse(state) : state) as AccountantState;
  if (s?.version !== 1) throw new TypeError("unsupported accountant state version");
  if (s.kind === "rdp") return RdpAccountant.fromJSON(s);
  if (s.kind === "pld") return PldAccountant.fromJSON(s);
  throw new TypeError(`unknown accountant kind "${(s as { kind: string }).kind}"`);
}
