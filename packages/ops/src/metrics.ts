/**
 * Prometheus metrics for a run, in a private Registry: several monitors (tests, or a process that
 * hosts more than one run) never collide in prom-client's global registry. The RunMonitor drives
 * every run value; nothing here reads the coordinator directly.
 *
 * Privacy: everything exposed here is a count, a setting, ε, a transport fact, or the coordinator's
 * evaluation on its OWN test split. Nothing computed from node data (federated loss/accuracy, update
 * norms) becomes a metric, even when it was released through a DP mechanism: /metrics is scraped and
 * stored by systems outside the run's privacy accounting.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Round wall-clock times range from seconds (logreg, small nodes) to tens of minutes (GPT-2 full). */
export const ROUND_DURATION_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export class RunMetrics {
  readonly registry = new Registry();
  readonly roundsCompleted = new Counter({
    name: "memarc_rounds_completed_total",
    help: "Training rounds whose aggregate was applied and saved",
    registers: [this.registry],
  });
  readonly currentRound = new Gauge({
    name: "memarc_current_round",
    help: "The round in progress, or the last one started (0: none yet)",
    registers: [this.registry],
  });
  readonly nodesConnected = new Gauge({
    name: "memarc_nodes_connected",
    help: "Authenticated nodes connected to the coordinator",
    registers: [this.registry],
  });
  readonly roundNodesSelected = new Gauge({
    name: "memarc_round_nodes_selected",
    help: "Nodes asked to train in the last completed round",
    registers: [this.registry],
  });
  readonly roundNodesCompleted = new Gauge({
    name: "memarc_round_nodes_completed",
    help: "Nodes whose update entered the aggregate of the last completed round",
    registers: [this.registry],
  });
  readonly testLoss = new Gauge({
    name: "memarc_test_loss",
    help: "Loss of the global model on the coordinator's own test split at its last evaluation",
    registers: [this.registry],
  });
  readonly testAccuracy = new Gauge({
    name: "memarc_test_accuracy",
    help: "Accuracy of the global model on the coordinator's own test split at its last evaluation",
    registers: [this.registry],
  });
  readonly epsilonSpent = new Gauge({
    name: "memarc_epsilon_spent",
    help: "Privacy loss epsilon spent so far at the run's delta, per privacy unit",
    labelNames: ["unit"] as const,
    registers: [this.registry],
  });
  readonly epsilonBudget = new Gauge({
    name: "memarc_epsilon_budget",
    help: "Epsilon budget of the governed privacy unit",
    registers: [this.registry],
  });
  // Unit last (`_bytes_total`), as Prometheus naming asks: received/sent describe, bytes is the unit.
  readonly bytesReceived = new Counter({
    name: "memarc_received_bytes_total",
    help: "Bytes received from nodes",
    registers: [this.registry],
  });
  readonly bytesSent = new Counter({
    name: "memarc_sent_bytes_total",
    help: "Bytes sent to nodes",
    registers: [this.registry],
  });
  readonly rejectedMessages = new Counter({
    name: "memarc_rejected_messages_total",
    help: "Messages or updates from nodes that were refused, by error code",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });
  readonly roundDuration = new Histogram({
    name: "memarc_round_duration_seconds",
    help: "Wall-clock time of a round from node admission to the end of evaluation",
    buckets: ROUND_DURATION_BUCKETS,
    registers: [this.registry],
  });

  constructor() {
    // The process's own health (CPU, resident memory, heap, event-loop lag, GC, open fds) next to
    // the run's figures, in this registry: a second monitor gets its own set instead of a
    // "metric already registered" error from the global one.
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
