import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CoordinatorEvent, RoundRecord } from "@memarc/federation";
import { BAD_UPDATE_CODE, RunMonitor, type RunSettings, summariseRound } from "./monitor.js";
import { logisticCoordinatorRun } from "./testing/coordinator-run.js";

const SETTINGS: RunSettings = {
  scheme: "side",
  strategy: "fedavg",
  roundsPlanned: 2,
  privacyUnit: "example",
  budget: { epsilon: 8, delta: 1e-5 },
  minNodes: 2,
};

/** A clock that advances one second per reading, so timestamps are predictable. */
function tickingClock(start = Date.UTC(2026, 0, 1)) {
  let t = start;
  return () => {
    const d = new Date(t);
    t += 1000;
    return d;
  };
}

const round1: RoundRecord = {
  round: 1,
  participants: ["a", "b"],
  failures: [{ nodeId: "c", reason: "update from c: expected 7 values, got 8" }],
  metrics: {
    federated_loss: 0.69,
    participants: 2,
    failures: 1,
    updatesClipped: 0,
    federated_accuracy: 0.71,
    evalNodes: 3,
    evalExamples: 60,
  },
  epsilon: { example: 1.25, user: null },
  seconds: 3.5,
  events: [{ unit: "example", subject: "a", noiseMultiplier: 1, sampleRate: 0.1, steps: 10 }],
};
const round2: RoundRecord = {
  round: 2,
  participants: ["a", "b", "c"],
  failures: [],
  metrics: { test_loss: 0.52, participants: 3, failures: 0, federated_accuracy: 0.8, test_accuracy: 0.83 },
  epsilon: { example: 1.9, user: null },
  seconds: 2.25,
  events: [],
};

/** What a two-round run with one bad update in round 1 emits, interleaved with transport facts. */
function feed(m: RunMonitor): string[] {
  const phases: string[] = [];
  const ev = (e: CoordinatorEvent) => {
    m.onEvent(e);
    phases.push(m.snapshot().phase);
  };
  m.nodeConnected("a");
  ev({ type: "waiting", round: 1, connected: 1, needed: 2 });
  assert.deepEqual(m.snapshot().waitingFor, { round: 1, connected: 1, needed: 2 });
  m.nodeConnected("b");
  m.nodeConnected("c");
  ev({
    type: "round-start",
    round: 1,
    participants: ["a", "b", "c"],
    events: [{ unit: "example", subject: "a", noiseMultiplier: 1, sampleRate: 0.01, steps: 50 }],
  });
  m.bytesOut(3000);
  m.updateReceived("a");
  m.updateReceived("b");
  phases.push(m.snapshot().phase); // still training: c has not answered
  m.bytesIn(2000);
  m.rejected("E_BAD_SIGNATURE", "c");
  m.updateReceived("c");
  phases.push(m.snapshot().phase); // all answered → aggregating
  ev({ type: "node-rejected", round: 1, nodeId: "c", reason: round1.failures[0]!.reason });
  m.evaluationStarted(1);
  phases.push(m.snapshot().phase);
  ev({ type: "evaluated", round: 1, metrics: { federated_accuracy: 0.71, evalNodes: 3, evalExamples: 60 } });
  ev({ type: "round-end", record: round1 });
  ev({ type: "round-start", round: 2, participants: ["a", "b", "c"], events: [] });
  m.nodeDisconnected("b");
  m.bytesIn(1500);
  m.bytesOut(3000);
  ev({ type: "evaluated", round: 2, metrics: { federated_accuracy: 0.8, test_accuracy: 0.83 } });
  ev({ type: "round-end", record: round2 });
  ev({ type: "stopped", reason: "completed", completedRound: 2 });
  return phases;
}

describe("RunMonitor", () => {
  it("turns a realistic event sequence into the expected snapshot", () => {
    const m = new RunMonitor(SETTINGS, { now: tickingClock() });
    const phases = feed(m);
    assert.deepEqual(phases, [
      "waiting",
      "training",
      "training",
      "aggregating",
      "aggregating",
      "evaluating",
      "evaluating",
      "waiting",
      "training",
      "training",
      "waiting",
      "stopped",
    ]);
    const s = m.snapshot();
    assert.equal(s.phase, "stopped");
    assert.equal(s.stopReason, "completed");
    assert.equal(s.currentRound, 2);
    assert.equal(s.completedRounds, 2);
    assert.equal(s.waitingFor, null);
    assert.deepEqual(s.roundParticipants, []);
    assert.deepEqual(s.settings, SETTINGS);
    assert.deepEqual(s.epsilon, { example: 1.9, user: null });
    assert.deepEqual(s.connectedNodes, ["a", "c"]);
    assert.deepEqual(s.bytes, { received: 3500, sent: 6000 });
    assert.deepEqual(s.rejected, { [BAD_UPDATE_CODE]: 1, E_BAD_SIGNATURE: 1 });
    assert.deepEqual(s.lastEvaluation, {
      round: 2,
      metrics: { federated_accuracy: 0.8, test_accuracy: 0.83 },
    });
    assert.deepEqual(
      s.rounds.map((r) => [
        r.round,
        r.epsilon.example,
        r.loss,
        r.accuracy,
        r.participants,
        r.failures,
        r.seconds,
      ]),
      [
        [1, 1.25, 0.69, 0.71, 2, 1, 3.5],
        [2, 1.9, 0.52, 0.83, 3, 0, 2.25], // the coordinator's own test set wins over node evaluation
      ],
    );
    assert.deepEqual(
      s.nodes.map((n) => [
        n.id,
        n.connected,
        n.roundsSelected,
        n.roundsCompleted,
        n.failures,
        n.rejectedMessages,
      ]),
      [
        ["a", true, 2, 2, 0, 0],
        ["b", false, 2, 2, 0, 0],
        ["c", true, 2, 1, 1, 2],
      ],
    );
    assert.equal(s.startedAt, "2026-01-01T00:00:00.000Z");
    assert.ok(s.updatedAt > s.startedAt);
    // JSON-serialisable without loss.
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });

  it("counts every change in seq, tells subscribers, and survives a throwing subscriber", () => {
    const m = new RunMonitor(SETTINGS);
    const seen: number[] = [];
    m.subscribe(() => {
      throw new Error("broken dashboard client");
    });
    const off = m.subscribe((seq) => seen.push(seq));
    m.nodeConnected("a");
    m.bytesIn(10);
    m.bytesIn(0); // not a change
    m.bytesIn(Number.NaN); // not a change
    off();
    m.bytesOut(5);
    assert.deepEqual(seen, [1, 2]);
    assert.equal(m.snapshot().seq, 3);
  });

  it("copies only known settings: a token or key path passed along never reaches the snapshot", () => {
    const leaky = { ...SETTINGS, joinToken: "tok-ABC123", key: "/keys/coordinator.key" } as RunSettings;
    const text = JSON.stringify(new RunMonitor(leaky).snapshot());
    assert.ok(!text.includes("tok-ABC123"));
    assert.ok(!text.includes("coordinator.key"));
    assert.throws(() => new RunMonitor({ ...SETTINGS, roundsPlanned: 0 }), RangeError);
    assert.throws(() => new RunMonitor({ ...SETTINGS, privacyUnit: "node" as "user" }), RangeError);
  });

  it("ignores transport facts that do not apply (late updates, unknown disconnects)", () => {
    const m = new RunMonitor(SETTINGS);
    m.updateReceived("a"); // no round running
    m.nodeDisconnected("ghost");
    assert.equal(m.snapshot().seq, 0);
    m.onEvent({ type: "stopped", reason: "budget-exhausted", completedRound: 0 });
    m.evaluationStarted(1);
    assert.equal(m.snapshot().phase, "stopped");
  });

  it("restores a resumed run's history and node registry", () => {
    const m = new RunMonitor(SETTINGS);
    m.restore([round1], {
      a: {
        firstSeen: "2026-01-01T00:00:00.000Z",
        lastSeen: "2026-01-01T00:05:00.000Z",
        roundsCompleted: 1,
        rejectedMessages: 0,
      },
      c: {
        firstSeen: "2026-01-01T00:00:00.000Z",
        lastSeen: "2026-01-01T00:05:00.000Z",
        roundsCompleted: 0,
        rejectedMessages: 1,
      },
    });
    const s = m.snapshot();
    assert.equal(s.completedRounds, 1);
    assert.equal(s.currentRound, 1);
    assert.deepEqual(s.epsilon, { example: 1.25, user: null });
    assert.deepEqual(s.rounds[0], summariseRound(round1));
    const c = s.nodes.find((n) => n.id === "c")!;
    assert.equal(c.rejectedMessages, 1);
    assert.equal(c.failures, 1);
    assert.equal(c.connected, false);
    m.onEvent({ type: "round-end", record: round2 });
    assert.equal(m.snapshot().completedRounds, 2);
  });

  it("follows a real Coordinator run: history and ε equal the coordinator's own", async () => {
    const run = logisticCoordinatorRun({
      rounds: 3,
      nodes: [
        { id: "n1", examples: 120, seed: 1 },
        { id: "n2", examples: 80, seed: 2 },
      ],
    });
    const summary = await run.coordinator.run();
    const s = run.monitor.snapshot();
    const state = run.coordinator.currentState;
    assert.equal(summary.completedRound, 3);
    assert.equal(s.phase, "stopped");
    assert.equal(s.stopReason, "completed");
    assert.equal(s.completedRounds, 3);
    assert.deepEqual(s.epsilon, summary.epsilon);
    assert.deepEqual(
      s.rounds,
      state.history.map((r) => summariseRound(r)),
    );
    // ε grows every round (every round composes more local DP-SGD steps) and is a real number.
    const eps = s.rounds.map((r) => r.epsilon.example!);
    assert.ok(eps[0]! > 0 && eps[0]! < eps[1]! && eps[1]! < eps[2]!);
    // The nodes really learn: loss falls, accuracy is reported each round.
    assert.ok(s.rounds[2]!.loss! < s.rounds[0]!.loss!);
    assert.ok(s.rounds.every((r) => r.accuracy !== null && r.accuracy > 0.5));
    for (const n of s.nodes) {
      assert.equal(n.roundsSelected, 3);
      assert.equal(n.roundsCompleted, state.nodes[n.id]!.roundsCompleted);
    }
    assert.deepEqual(s.connectedNodes, ["n1", "n2"]);
  });
});

describe("RunMonitor under refused joins", () => {
  it("counts refusals by code without registering the refused keys", () => {
    const m = new RunMonitor({
      scheme: "side",
      strategy: "fedavg",
      roundsPlanned: 1,
      privacyUnit: "example",
      budget: { epsilon: 8, delta: 1e-5 },
      minNodes: 1,
    });
    m.nodeConnected("admitted");
    const before = JSON.stringify(m.snapshot()).length;
    for (let i = 0; i < 4000; i++) m.rejected("E_UNKNOWN_NODE", `random-key-${i}`);
    m.rejected("E_REPLAY", "admitted");
    const s = m.snapshot();
    assert.deepEqual(
      s.nodes.map((n) => n.id),
      ["admitted"],
    );
    assert.equal(s.nodes[0]!.rejectedMessages, 1);
    assert.ok(JSON.stringify(s).length < before + 200, "the snapshot does not grow with refusals");
  });
});
