import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RunMonitor } from "./monitor.js";
import { logisticCoordinatorRun } from "./testing/coordinator-run.js";

/** Parse Prometheus text exposition into {"name{labels}": value}, checking HELP/TYPE lines. */
function parse(text: string): { samples: Map<string, number>; types: Map<string, string> } {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (line.startsWith("# HELP ")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(m, `malformed exposition line: ${line}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return { samples, types };
}

describe("Prometheus metrics", () => {
  it("exposes the run as the monitor sees it", async () => {
    const m = new RunMonitor({
      scheme: "lora",
      roundsPlanned: 5,
      privacyUnit: "user",
      budget: { epsilon: 4, delta: 1e-6 },
    });
    m.nodeConnected("a");
    m.nodeConnected("b");
    m.nodeConnected("c");
    m.nodeDisconnected("c");
    m.bytesIn(1234);
    m.bytesIn(766);
    m.bytesOut(4096);
    m.rejected("E_REPLAY", "b");
    m.rejected("E_REPLAY");
    m.rejected("E_TOO_LARGE", "a");
    m.onEvent({ type: "round-start", round: 1, participants: ["a", "b"], events: [] });
    m.onEvent({ type: "node-rejected", round: 1, nodeId: "a", reason: "bad shape" });
    for (const [round, seconds, user] of [
      [1, 0.7, 0.5],
      [2, 12, 0.8],
      [3, 45, 1.05],
    ] as const) {
      if (round > 1) m.onEvent({ type: "round-start", round, participants: ["a", "b", "c"], events: [] });
      // Round 3 evaluates on the nodes only: the coordinator's test figures stay those of round 2.
      const metrics: Record<string, number> =
        round === 3
          ? { federated_loss: 0.3141, federated_accuracy: 0.9271 }
          : { test_loss: 0.7 - 0.1 * round, test_accuracy: 0.6 + 0.1 * round, federated_loss: 0.9913 };
      m.onEvent({ type: "evaluated", round, metrics });
      m.onEvent({
        type: "round-end",
        record: {
          round,
          participants: ["b"],
          failures:
            round === 1
              ? [{ nodeId: "a", reason: "bad shape" }]
              : [
                  { nodeId: "c", reason: "timeout" },
                  { nodeId: "a", reason: "x" },
                ],
          metrics,
          epsilon: { example: 3 + round, user },
          seconds,
          events: [],
        },
      });
    }
    assert.match(m.metrics.contentType, /^text\/plain; version=0\.0\.4/);
    const { samples, types } = parse(await m.metrics.text());
    assert.equal(types.get("memarc_rounds_completed_total"), "counter");
    assert.equal(types.get("memarc_nodes_connected"), "gauge");
    assert.equal(types.get("memarc_epsilon_spent"), "gauge");
    assert.equal(types.get("memarc_epsilon_budget"), "gauge");
    assert.equal(types.get("memarc_received_bytes_total"), "counter");
    assert.equal(types.get("memarc_sent_bytes_total"), "counter");
    assert.equal(types.get("memarc_rejected_messages_total"), "counter");
    assert.equal(types.get("memarc_round_duration_seconds"), "histogram");
    for (const g of [
      "memarc_current_round",
      "memarc_round_nodes_selected",
      "memarc_round_nodes_completed",
      "memarc_test_loss",
      "memarc_test_accuracy",
    ])
      assert.equal(types.get(g), "gauge", g);
    // The old names, whose unit was not last, are gone.
    assert.equal(types.has("memarc_bytes_received_total"), false);
    assert.equal(types.has("memarc_bytes_sent_total"), false);

    assert.equal(samples.get("memarc_rounds_completed_total"), 3);
    assert.equal(samples.get("memarc_nodes_connected"), 2);
    assert.equal(samples.get('memarc_epsilon_spent{unit="user"}'), 1.05);
    assert.equal(samples.get('memarc_epsilon_spent{unit="example"}'), 6);
    assert.equal(samples.get("memarc_epsilon_budget"), 4);
    assert.equal(samples.get("memarc_received_bytes_total"), 2000);
    assert.equal(samples.get("memarc_sent_bytes_total"), 4096);
    assert.equal(samples.get('memarc_rejected_messages_total{code="E_REPLAY"}'), 2);
    assert.equal(samples.get('memarc_rejected_messages_total{code="E_TOO_LARGE"}'), 1);
    assert.equal(samples.get('memarc_rejected_messages_total{code="E_BAD_UPDATE"}'), 1);
    // Histogram: cumulative buckets, sum and count of the three rounds.
    assert.equal(samples.get('memarc_round_duration_seconds_bucket{le="0.5"}'), 0);
    assert.equal(samples.get('memarc_round_duration_seconds_bucket{le="1"}'), 1);
    assert.equal(samples.get('memarc_round_duration_seconds_bucket{le="10"}'), 1);
    assert.equal(samples.get('memarc_round_duration_seconds_bucket{le="30"}'), 2);
    assert.equal(samples.get('memarc_round_duration_seconds_bucket{le="60"}'), 3);
    assert.equal(samples.get('memarc_round_duration_seconds_bucket{le="+Inf"}'), 3);
    assert.equal(samples.get("memarc_round_duration_seconds_count"), 3);
    assert.ok(Math.abs(samples.get("memarc_round_duration_seconds_sum")! - 57.7) < 1e-9);

    assert.equal(samples.get("memarc_current_round"), 3);
    // Last round: a, b, c selected; b's update aggregated; a and c failed.
    assert.equal(samples.get("memarc_round_nodes_selected"), 3);
    assert.equal(samples.get("memarc_round_nodes_completed"), 1);
    // The coordinator's own test split, as of its last evaluation (round 2)...
    assert.ok(Math.abs(samples.get("memarc_test_loss")! - 0.5) < 1e-12);
    assert.ok(Math.abs(samples.get("memarc_test_accuracy")! - 0.8) < 1e-12);
    // ...and nothing computed from node data, even a DP-released figure.
    for (const name of types.keys()) assert.doesNotMatch(name, /federated/);
    for (const v of [0.3141, 0.9271, 0.9913])
      assert.ok(![...samples.values()].includes(v), `a node-data figure (${v}) reached /metrics`);
  });

  it("exposes the process's default metrics, per registry, without colliding", async () => {
    const settings = {
      scheme: "side",
      roundsPlanned: 1,
      privacyUnit: "example" as const,
      budget: { epsilon: 1, delta: 1e-5 },
    };
    // Two monitors in one process: a global-registry collectDefaultMetrics would throw on the second.
    const a = new RunMonitor(settings);
    const b = new RunMonitor(settings);
    for (const m of [a, b]) {
      const { samples, types } = parse(await m.metrics.text());
      assert.equal(types.get("process_cpu_user_seconds_total"), "counter");
      assert.equal(types.get("process_resident_memory_bytes"), "gauge");
      assert.equal(types.get("nodejs_heap_size_used_bytes"), "gauge");
      assert.equal(types.get("nodejs_eventloop_lag_seconds"), "gauge");
      assert.ok(samples.get("process_resident_memory_bytes")! > 1e6);
      assert.ok(samples.get("process_start_time_seconds")! > 1.5e9);
      // Run metrics sit beside them, before any round.
      assert.equal(samples.get("memarc_current_round"), 0);
    }
  });

  it("follows a real Coordinator run: round, nodes and the coordinator's test figures", async () => {
    const run = logisticCoordinatorRun({
      rounds: 3,
      nodes: [
        { id: "n1", examples: 120, seed: 1 },
        { id: "n2", examples: 80, seed: 2 },
      ],
      coordinatorTest: { examples: 200, seed: 99 },
    });
    await run.coordinator.run();
    const { samples } = parse(await run.monitor.metrics.text());
    const history = run.coordinator.currentState.history;
    const last = history.at(-1)!;
    assert.equal(samples.get("memarc_current_round"), 3);
    assert.equal(samples.get("memarc_rounds_completed_total"), 3);
    assert.equal(samples.get("memarc_round_nodes_selected"), 2);
    assert.equal(samples.get("memarc_round_nodes_completed"), last.participants.length);
    assert.equal(samples.get("memarc_test_loss"), last.metrics.test_loss);
    assert.equal(samples.get("memarc_test_accuracy"), last.metrics.test_accuracy);
    assert.ok(last.metrics.test_accuracy! > 0.5);
    // This run also evaluates privately on the nodes; none of that reaches Prometheus.
    assert.ok(Number.isFinite(last.metrics.federated_loss));
    assert.ok(![...samples.values()].includes(last.metrics.federated_loss!));
  });

  it("keeps each monitor's metrics in its own registry", async () => {
    const a = new RunMonitor({
      scheme: "side",
      roundsPlanned: 1,
      privacyUnit: "example",
      budget: { epsilon: 1, delta: 1e-5 },
    });
    const b = new RunMonitor({
      scheme: "side",
      roundsPlanned: 1,
      privacyUnit: "example",
      budget: { epsilon: 2, delta: 1e-5 },
    });
    a.bytesIn(10);
    assert.equal(parse(await a.metrics.text()).samples.get("memarc_received_bytes_total"), 10);
    assert.equal(parse(await b.metrics.text()).samples.get("memarc_received_bytes_total"), 0);
    assert.equal(parse(await b.metrics.text()).samples.get("memarc_epsilon_budget"), 2);
    // Units not yet in use are absent rather than reported as 0 ε.
    assert.equal(parse(await a.metrics.text()).samples.has('memarc_epsilon_spent{unit="example"}'), false);
  });
});
