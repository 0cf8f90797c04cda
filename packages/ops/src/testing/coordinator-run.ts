/**
 * Test support: a real Coordinator (FedAvg with example-level local DP-SGD settings, an RDP privacy
 * ledger, safetensors state in a temp dir) over a LogisticPool, with a RunMonitor subscribed to its
 * events and wrapped around its pool — the same wiring `memarc coordinator` uses.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  accountantFactory,
  Coordinator,
  type CoordinatorEvent,
  FedAvg,
  localOptimizationFor,
  PrivacyLedger,
  ServerSgd,
  safetensorsWeightsCodec,
} from "@memarc/federation";
import { StateStore } from "@memarc/federation/node";
import {
  initialLogisticWeights,
  type LogisticNodeSpec,
  LogisticPool,
  logisticTestEvaluator,
} from "@memarc/federation/testing";
import { RunMonitor } from "../monitor.js";
import { monitoredPool } from "../pool.js";

export const TEST_LOCAL_DP = {
  noiseMultiplier: 1.1,
  perExampleClip: 1,
  sampleRate: 0.02,
  expectedBatchSize: 2,
  steps: 40,
};

export interface LogisticRunOptions {
  rounds: number;
  nodes: LogisticNodeSpec[];
  epsilon?: number;
  delta?: number;
  minNodes?: number;
  /** Friendly names by node id, as `memarc coordinator` takes them from its allow-list. */
  nodeNames?: Record<string, string>;
  /** Give the coordinator its own test split (test_loss / test_accuracy after every round). */
  coordinatorTest?: { examples: number; seed: number };
}

export function logisticCoordinatorRun(o: LogisticRunOptions) {
  const budget = { epsilon: o.epsilon ?? 50, delta: o.delta ?? 1e-5 };
  const monitor = new RunMonitor(
    {
      scheme: "logreg",
      strategy: "fedavg",
      roundsPlanned: o.rounds,
      privacyUnit: "example",
      budget,
      minNodes: o.minNodes ?? o.nodes.length,
    },
    o.nodeNames ? { nodeNames: new Map(Object.entries(o.nodeNames)) } : {},
  );
  const pool = new LogisticPool(
    o.nodes,
    { steps: 5, lr: 0.5 },
    { connected: (id) => monitor.nodeConnected(id) },
  );
  const events: CoordinatorEvent[] = [];
  const dir = mkdtempSync(join(tmpdir(), "memarc-ops-run-"));
  const coordinator = new Coordinator(
    {
      rounds: o.rounds,
      minNodes: o.minNodes ?? o.nodes.length,
      waitForNodesMs: 5_000,
      roundTimeoutMs: 10_000,
      evaluateEvery: 1,
      federatedEvaluation: { noiseMultiplier: 5, lossBound: 10 },
      budget,
      governs: "example",
      training: localOptimizationFor("logreg"),
      fingerprint: "ops-test-v1",
      ...(o.coordinatorTest
        ? { evaluateGlobal: logisticTestEvaluator(o.coordinatorTest.examples, o.coordinatorTest.seed) }
        : {}),
    },
    {
      strategy: new FedAvg({ localDp: TEST_LOCAL_DP }),
      optimizer: new ServerSgd(1),
      ledger: new PrivacyLedger(accountantFactory("rdp")),
      store: new StateStore(dir, safetensorsWeightsCodec),
      pool: monitoredPool(pool, monitor),
      initialWeights: initialLogisticWeights(),
      onEvent: (e) => {
        events.push(e);
        monitor.onEvent(e);
      },
    },
    { resume: false },
  );
  return { coordinator, monitor, pool, events, dir, budget };
}
