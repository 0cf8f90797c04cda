/**
 * Prometheus metrics for a run, in a private Registry: several monitors (tests, or a process that
 * hosts more than one run) never collide in prom-client's global registry. The RunMonitor drives
 * every value; nothing here reads the coordinator directly.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Round wall-clock times range from seconds (logreg, small nodes) to tens of minutes (GPT-2 full). */
export const ROUND_DURATION_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export class RunMetrics {
  readonly registry = new Registry();
  readonly roundsCompleted = new Counter({
    name: "memarc_rounds_completed_total",
    help: "Training rounds whose aggregate was applied and saved",
    registers: [this.registry],
  });
  readonly nodesConnected = new Gauge({
    name: "memarc_nodes_connected",
    help: "Authenticated nodes connected to the coordinator",
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
  readonly bytesReceived = new Counter({
    name: "memarc_bytes_received_total",
    help: "Bytes received from nodes",
    registers: [this.registry],
  });
  readonly bytesSent = new Counter({
    name: "memarc_bytes_sent_total",
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

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
