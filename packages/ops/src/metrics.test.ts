import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RunMonitor } from "./monitor.js";

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
      m.onEvent({
        type: "round-end",
        record: {
          round,
          participants: ["b"],
          failures: [],
          metrics: {},
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
    assert.equal(types.get("memarc_bytes_received_total"), "counter");
    assert.equal(types.get("memarc_bytes_sent_total"), "counter");
    assert.equal(types.get("memarc_rejected_messages_total"), "counter");
    assert.equal(types.get("memarc_round_duration_seconds"), "histogram");

    assert.equal(samples.get("memarc_rounds_completed_total"), 3);
    assert.equal(samples.get("memarc_nodes_connected"), 2);
    assert.equal(samples.get('memarc_epsilon_spent{unit="user"}'), 1.05);
    assert.equal(samples.get('memarc_epsilon_spent{unit="example"}'), 6);
    assert.equal(samples.get("memarc_epsilon_budget"), 4);
    assert.equal(samples.get("memarc_bytes_received_total"), 2000);
    assert.equal(samples.get("memarc_bytes_sent_total"), 4096);
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
    assert.equal(parse(await a.metrics.text()).samples.get("memarc_bytes_received_total"), 10);
    assert.equal(parse(await b.metrics.text()).samples.get("memarc_bytes_received_total"), 0);
    assert.equal(parse(await b.metrics.text()).samples.get("memarc_epsilon_budget"), 2);
    // Units not yet in use are absent rather than reported as 0 ε.
    assert.equal(parse(await a.metrics.text()).samples.has('memarc_epsilon_spent{unit="example"}'), false);
  });
});
