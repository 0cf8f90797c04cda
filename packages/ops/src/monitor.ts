/**
 * RunMonitor: one JSON-serialisable picture of a federated run, fed by the coordinator's event
 * stream plus transport facts the socket layer reports (connections, bytes, rejected messages).
 * The dashboard, the SSE stream and the Prometheus metrics all read from here, so what an operator
 * sees in the browser and what Prometheus scrapes cannot disagree.
 *
 * Only allow-listed settings are copied into the snapshot: callers may pass their whole option
 * object (which can hold key paths or a join token) without leaking it to the dashboard.
 */
import type { CoordinatorEvent, NodeRecord, RoundRecord } from "@memarc/federation";
import { RunMetrics } from "./metrics.js";

export type RunPhase = "waiting" | "training" | "aggregating" | "evaluating" | "stopped";

export interface RunSettings {
  scheme: string;
  roundsPlanned: number;
  privacyUnit: "example" | "user";
  budget: { epsilon: number; delta: number };
  /** Strategy name (fedavg, dp-fedavg, ...), informational. */
  strategy?: string;
  minNodes?: number;
}

export interface RoundSummary {
  round: number;
  epsilon: { example: number | null; user: number | null };
  /**
   * Held-out loss: the coordinator's test set if it has one, else the nodes' private (noised)
   * evaluation. Nodes never report training losses (docs/privacy.md).
   */
  loss: number | null;
  /** Held-out accuracy: the coordinator's test set if it has one, else the nodes' evaluation. */
  accuracy: number | null;
  participants: number;
  failures: number;
  seconds: number;
  metrics: Record<string, number>;
}

export interface NodeSummary {
  id: string;
  /** The operator's label for this key (the allow-list line's comment), or null. */
  name: string | null;
  connected: boolean;
  firstSeen: string;
  lastSeen: string;
  /** Rounds this node was asked to train in. */
  roundsSelected: number;
  /** Rounds whose aggregate included this node's update. */
  roundsCompleted: number;
  /** Rounds where this node's update failed (timeout, crash, rejected update). */
  failures: number;
  rejectedMessages: number;
}

export interface RunSnapshot {
  /** Increases by one with every change; SSE clients can tell whether they missed one. */
  seq: number;
  startedAt: string;
  updatedAt: string;
  settings: RunSettings;
  phase: RunPhase;
  /** The round in progress, or the last one started (0: none yet). */
  currentRound: number;
  completedRounds: number;
  /** Set while the coordinator waits for enough nodes. */
  waitingFor: { round: number; connected: number; needed: number } | null;
  /** Nodes selected for the current round and how many updates have arrived so far. */
  roundParticipants: string[];
  updatesReceived: number;
  /** ε spent so far per unit (null: unit not in use). */
  epsilon: { example: number | null; user: number | null };
  /**
   * The governed unit's ε against its budget, ready to draw: present from the very first snapshot
   * (spent 0 before any round; a resumed run's spent ε at once), so a meter never waits for a round.
   */
  budgetUsed: { epsilon: number; budget: number; fraction: number };
  /** False once the coordinator has stopped (completed, budget spent, failed): nothing more will come. */
  running: boolean;
  stopReason: string | null;
  connectedNodes: string[];
  nodes: NodeSummary[];
  rounds: RoundSummary[];
  lastEvaluation: { round: number; metrics: Record<string, number> } | null;
  bytes: { received: number; sent: number };
  /** Rejected messages by error code. */
  rejected: Record<string, number>;
}

/** The code the coordinator's own update checks (shape, NaN, bad counts) are counted under. */
export const BAD_UPDATE_CODE = "E_BAD_UPDATE";

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

function firstOf(metrics: Record<string, number>, keys: string[]): number | null {
  for (const k of keys) {
    const v = num(metrics[k]);
    if (v !== null) return v;
  }
  return null;
}

export function summariseRound(r: RoundRecord): RoundSummary {
  return {
    round: r.round,
    epsilon: { example: num(r.epsilon.example), user: num(r.epsilon.user) },
    loss: firstOf(r.metrics, ["test_loss", "federated_loss"]),
    accuracy: firstOf(r.metrics, ["test_accuracy", "federated_accuracy", "accuracy"]),
    participants: r.participants.length,
    failures: r.failures.length,
    seconds: r.seconds,
    metrics: { ...r.metrics },
  };
}

function pickSettings(s: RunSettings): RunSettings {
  if (!Number.isSafeInteger(s.roundsPlanned) || s.roundsPlanned < 1)
    throw new RangeError(`roundsPlanned must be a positive integer, got ${s.roundsPlanned}`);
  if (s.privacyUnit !== "example" && s.privacyUnit !== "user")
    throw new RangeError(`privacyUnit must be "example" or "user", got ${String(s.privacyUnit)}`);
  const out: RunSettings = {
    scheme: String(s.scheme),
    roundsPlanned: s.roundsPlanned,
    privacyUnit: s.privacyUnit,
    budget: { epsilon: Number(s.budget.epsilon), delta: Number(s.budget.delta) },
  };
  if (s.strategy !== undefined) out.strategy = String(s.strategy);
  if (s.minNodes !== undefined) out.minNodes = Number(s.minNodes);
  return out;
}

/** Told the new `seq` after every change; read `snapshot()` when (and if) it needs the state. */
export type SnapshotListener = (seq: number) => void;

export interface RunMonitorOptions {
  /** Clock, injectable so tests can assert timestamps. */
  now?: () => Date;
  /**
   * Friendly names by node id, e.g. `AllowList.names` (the comments of the operator's allow-list).
   * Operator-chosen labels, never anything a node sends.
   */
  nodeNames?: ReadonlyMap<string, string>;
}

export class RunMonitor {
  readonly metrics: RunMetrics;
  private readonly settings: RunSettings;
  private readonly now: () => Date;
  private readonly nodeNames: ReadonlyMap<string, string>;
  private readonly startedAt: string;
  private updatedAt: string;
  private seq = 0;
  private phase: RunPhase = "waiting";
  private currentRound = 0;
  private waitingFor: RunSnapshot["waitingFor"] = null;
  private roundParticipants: string[] = [];
  private received = new Set<string>();
  private epsilon: RunSnapshot["epsilon"] = { example: null, user: null };
  private stopReason: string | null = null;
  private readonly nodes = new Map<string, NodeSummary>();
  private readonly rounds: RoundSummary[] = [];
  private lastEvaluation: RunSnapshot["lastEvaluation"] = null;
  private bytesReceived = 0;
  private bytesSent = 0;
  private readonly rejectedByCode = new Map<string, number>();
  private readonly listeners = new Set<SnapshotListener>();

  constructor(settings: RunSettings, options: RunMonitorOptions = {}) {
    this.settings = pickSettings(settings);
    this.now = options.now ?? (() => new Date());
    this.nodeNames = new Map(options.nodeNames ?? []);
    this.startedAt = this.now().toISOString();
    this.updatedAt = this.startedAt;
    this.metrics = new RunMetrics();
    this.metrics.epsilonBudget.set(this.settings.budget.epsilon);
  }

  /** Seed from a resumed run's state (`--resume`): its history and node registry. */
  restore(history: readonly RoundRecord[], nodes: Readonly<Record<string, NodeRecord>> = {}): void {
    for (const [id, r] of Object.entries(nodes)) {
      const n = this.node(id);
      n.firstSeen = r.firstSeen;
      n.lastSeen = r.lastSeen;
      n.roundsCompleted = r.roundsCompleted;
      n.rejectedMessages = r.rejectedMessages;
    }
    for (const r of history) {
      const s = summariseRound(r);
      this.rounds.push(s);
      for (const f of r.failures) this.node(f.nodeId).failures += 1;
      this.setEpsilon(s.epsilon);
      this.currentRound = Math.max(this.currentRound, r.round);
      this.roundMetrics(r);
      this.testMetrics(r.metrics);
    }
    this.metrics.roundsCompleted.inc(history.length);
    this.changed();
  }

  /** The coordinator's `onEvent` callback. */
  readonly onEvent = (e: CoordinatorEvent): void => {
    switch (e.type) {
      case "waiting":
        this.phase = "waiting";
        this.currentRound = Math.max(this.currentRound, e.round - 1);
        this.waitingFor = { round: e.round, connected: e.connected, needed: e.needed };
        break;
      case "round-start":
        this.phase = "training";
        this.currentRound = e.round;
        this.waitingFor = null;
        this.roundParticipants = [...e.participants];
        this.received.clear();
        for (const id of e.participants) this.node(id).roundsSelected += 1;
        break;
      case "node-rejected":
        this.node(e.nodeId).rejectedMessages += 1;
        this.countRejected(BAD_UPDATE_CODE);
        break;
      case "evaluated":
        this.lastEvaluation = { round: e.round, metrics: { ...e.metrics } };
        this.testMetrics(e.metrics);
        break;
      case "round-end": {
        const s = summariseRound(e.record);
        const at = this.rounds.findIndex((r) => r.round === s.round);
        if (at >= 0) this.rounds[at] = s;
        else this.rounds.push(s);
        for (const id of e.record.participants) this.node(id).roundsCompleted += 1;
        for (const f of e.record.failures) this.node(f.nodeId).failures += 1;
        this.setEpsilon(s.epsilon);
        this.currentRound = Math.max(this.currentRound, s.round);
        this.phase = "waiting";
        this.roundParticipants = [];
        this.received.clear();
        this.metrics.roundsCompleted.inc();
        this.metrics.roundDuration.observe(s.seconds);
        this.roundMetrics(e.record);
        break;
      }
      case "stopped":
        this.phase = "stopped";
        this.stopReason = e.reason;
        this.waitingFor = null;
        this.roundParticipants = [];
        break;
    }
    this.changed();
  };

  /** A node finished its handshake and is in the pool. */
  nodeConnected(id: string): void {
    const n = this.node(id);
    n.connected = true;
    this.syncConnected();
    this.changed();
  }

  nodeDisconnected(id: string): void {
    const n = this.nodes.get(id);
    if (!n?.connected) return;
    n.connected = false;
    n.lastSeen = this.now().toISOString();
    this.syncConnected();
    this.changed();
  }

  /** A node's fit reply arrived; when every participant has answered the round is aggregating. */
  updateReceived(id: string): void {
    if (this.phase !== "training" || !this.roundParticipants.includes(id)) return;
    this.received.add(id);
    if (this.received.size === this.roundParticipants.length) this.phase = "aggregating";
    this.changed();
  }

  /** The coordinator started evaluating the round's aggregate (node evaluation or its own test set). */
  evaluationStarted(round: number): void {
    if (this.phase === "stopped") return;
    this.phase = "evaluating";
    this.currentRound = Math.max(this.currentRound, round);
    this.changed();
  }

  bytesIn(n: number): void {
    if (!(n > 0 && Number.isFinite(n))) return;
    this.bytesReceived += n;
    this.metrics.bytesReceived.inc(n);
    this.changed();
  }

  bytesOut(n: number): void {
    if (!(n > 0 && Number.isFinite(n))) return;
    this.bytesSent += n;
    this.metrics.bytesSent.inc(n);
    this.changed();
  }

  /** The protocol layer refused a message (bad signature, replay, oversize, schema, ...). */
  /**
   * A rejected message or refused join. Counted by code; charged to a node only if that node is
   * already registered — a refused key never enters the registry, so unauthenticated peers cannot
   * grow the coordinator's memory or the dashboard.
   */
  rejected(code: string, nodeId?: string): void {
    const known = nodeId === undefined ? undefined : this.nodes.get(nodeId);
    if (known) known.rejectedMessages += 1;
    this.countRejected(code);
    this.changed();
  }

  snapshot(): RunSnapshot {
    const nodes = [...this.nodes.values()].map((n) => ({ ...n })).sort((a, b) => a.id.localeCompare(b.id));
    return {
      seq: this.seq,
      startedAt: this.startedAt,
      updatedAt: this.updatedAt,
      settings: { ...this.settings, budget: { ...this.settings.budget } },
      phase: this.phase,
      currentRound: this.currentRound,
      completedRounds: this.rounds.length,
      waitingFor: this.waitingFor ? { ...this.waitingFor } : null,
      roundParticipants: [...this.roundParticipants],
      updatesReceived: this.received.size,
      epsilon: { ...this.epsilon },
      budgetUsed: this.budgetUsed(),
      running: this.phase !== "stopped",
      stopReason: this.stopReason,
      connectedNodes: nodes.filter((n) => n.connected).map((n) => n.id),
      nodes,
      rounds: this.rounds.map((r) => ({ ...r, epsilon: { ...r.epsilon }, metrics: { ...r.metrics } })),
      lastEvaluation: this.lastEvaluation
        ? { round: this.lastEvaluation.round, metrics: { ...this.lastEvaluation.metrics } }
        : null,
      bytes: { received: this.bytesReceived, sent: this.bytesSent },
      rejected: Object.fromEntries([...this.rejectedByCode].sort(([a], [b]) => a.localeCompare(b))),
    };
  }

  /** Called synchronously after every change; returns an unsubscribe function. */
  subscribe(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get version(): number {
    return this.seq;
  }

  private node(id: string): NodeSummary {
    let n = this.nodes.get(id);
    const now = this.now().toISOString();
    if (!n) {
      n = {
        id,
        name: this.nodeNames.get(id) ?? null,
        connected: false,
        firstSeen: now,
        lastSeen: now,
        roundsSelected: 0,
        roundsCompleted: 0,
        failures: 0,
        rejectedMessages: 0,
      };
      this.nodes.set(id, n);
    } else {
      n.lastSeen = now;
    }
    return n;
  }

  private syncConnected(): void {
    let c = 0;
    for (const n of this.nodes.values()) if (n.connected) c++;
    this.metrics.nodesConnected.set(c);
  }

  private setEpsilon(e: RoundSummary["epsilon"]): void {
    this.epsilon = { ...e };
    for (const unit of ["example", "user"] as const) {
      const v = e[unit];
      if (v !== null) this.metrics.epsilonSpent.set({ unit }, v);
    }
  }

  private budgetUsed(): RunSnapshot["budgetUsed"] {
    const budget = this.settings.budget.epsilon;
    const epsilon = this.epsilon[this.settings.privacyUnit] ?? 0;
    return { epsilon, budget, fraction: budget > 0 ? epsilon / budget : epsilon > 0 ? 1 : 0 };
  }

  /** Selected = completed + failed: every task the round dispatched ends in one of the two. */
  private roundMetrics(r: RoundRecord): void {
    this.metrics.roundNodesSelected.set(r.participants.length + r.failures.length);
    this.metrics.roundNodesCompleted.set(r.participants.length);
  }

  /**
   * Only the coordinator's own test split (`test_*`): federated_* figures are computed from node
   * data and stay out of Prometheus (see metrics.ts).
   */
  private testMetrics(m: Record<string, number>): void {
    const loss = num(m.test_loss);
    const accuracy = num(m.test_accuracy);
    if (loss !== null) this.metrics.testLoss.set(loss);
    if (accuracy !== null) this.metrics.testAccuracy.set(accuracy);
  }

  private countRejected(code: string): void {
    this.rejectedByCode.set(code, (this.rejectedByCode.get(code) ?? 0) + 1);
    this.metrics.rejectedMessages.inc({ code });
  }

  private changed(): void {
    this.metrics.currentRound.set(this.currentRound);
    this.seq += 1;
    this.updatedAt = this.now().toISOString();
    for (const l of [...this.listeners]) {
      try {
        l(this.seq);
      } catch {
        // A broken listener (e.g. a dashboard client) must never break the coordinator's event loop.
      }
    }
  }
}
