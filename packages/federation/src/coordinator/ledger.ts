/**
 * The central privacy ledger. Example-level DP: every node's examples are a separate population,
 * so each node has its own accountant composing all the local DP-SGD steps it ran, across rounds
 * and restarts; the run's example-level ε is the worst node's. User-level DP: one accountant for
 * the population of users composing the per-round (z, q) of DP-FedAvg.
 *
 * Events are recorded when a round is dispatched — before any node trains — and persisted before
 * anything derived from data is released: a crash can only over-count ε, never under-count it.
 */

import { StateError } from "../persist/state-error.js";
import type { LedgerEvent } from "../strategy/types.js";

/** The part of an accountant the ledger needs (implemented by @memarc/privacy's accountants). */
export interface LedgerAccountant {
  step(event: { noiseMultiplier: number; sampleRate: number; steps: number }): void;
  getEpsilon(delta: number): number;
  toJSON(): unknown;
}

export interface AccountantFactory {
  create(): LedgerAccountant;
  fromJSON(json: unknown): LedgerAccountant;
}

export type PrivacyUnit = "example" | "user";

export interface Budget {
  epsilon: number;
  delta: number;
}

export interface LedgerJson {
  example: Record<string, unknown>;
  user: unknown | null;
}

export class PrivacyLedger {
  private readonly example = new Map<string, LedgerAccountant>();
  private user: LedgerAccountant | null = null;

  constructor(private readonly factory: AccountantFactory) {}

  /** Rebuild a saved ledger; any malformed part is an E_STATE error naming it. */
  static fromJSON(factory: AccountantFactory, json: LedgerJson): PrivacyLedger {
    const l = new PrivacyLedger(factory);
    if (!json || typeof json !== "object" || typeof json.example !== "object" || json.example === null) {
      throw new StateError("privacy ledger: malformed state (expected {example, user})");
    }
    const load = (what: string, a: unknown) => {
      try {
        return factory.fromJSON(a);
      } catch (err) {
        throw new StateError(`privacy ledger: ${what}: ${(err as Error).message}`);
      }
    };
    for (const [node, a] of Object.entries(json.example)) l.example.set(node, load(`node ${node}`, a));
    if (json.user !== null && json.user !== undefined) l.user = load("user-level accountant", json.user);
    return l;
  }

  /** A new, empty ledger with the same accountant kind. */
  empty(): PrivacyLedger {
    return new PrivacyLedger(this.factory);
  }

  toJSON(): LedgerJson {
    const example: Record<string, unknown> = {};
    for (const [node, a] of [...this.example].sort(([x], [y]) => (x < y ? -1 : 1)))
      example[node] = a.toJSON();
    return { example, user: this.user ? this.user.toJSON() : null };
  }

  /** Apply events to this ledger (in memory). */
  record(events: readonly LedgerEvent[]): void {
    for (const e of events) this.accountantFor(e, true)!.step(e);
  }

  /** ε spent for a unit: the worst node for "example", the population for "user"; null if unused. */
  epsilon(unit: PrivacyUnit, delta: number): number | null {
    if (unit === "user") return this.user ? this.user.getEpsilon(delta) : null;
    if (this.example.size === 0) return null;
    let worst = 0;
    for (const a of this.example.values()) worst = Math.max(worst, a.getEpsilon(delta));
    return worst;
  }

  /** Per-node example-level ε (for reports and the dashboard). */
  exampleEpsilonByNode(delta: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [node, a] of this.example) out[node] = a.getEpsilon(delta);
    return out;
  }

  /**
   * Would recording `events` keep the governed unit within budget? Checked on a copy, so the
   * ledger itself is untouched. Returns the ε the unit would reach.
   */
  check(
    events: readonly LedgerEvent[],
    unit: PrivacyUnit,
    budget: Budget,
  ): { ok: boolean; epsilonAfter: number } {
    const copy = PrivacyLedger.fromJSON(this.factory, JSON.parse(JSON.stringify(this.toJSON())));
    copy.record(events);
    const after = copy.epsilon(unit, budget.delta) ?? 0;
    return { ok: after <= budget.epsilon, epsilonAfter: after };
  }

  private accountantFor(e: LedgerEvent, create: boolean): LedgerAccountant | null {
    if (e.unit === "user") {
      if (!this.user && create) this.user = this.factory.create();
      return this.user;
    }
    let a = this.example.get(e.subject);
    if (!a && create) {
      a = this.factory.create();
      this.example.set(e.subject, a);
    }
    return a ?? null;
  }
}
