/**
 * Test support: an in-process NodePool whose nodes really train — full-batch gradient descent on a
 * logistic-regression problem over their own synthetic data — so a real Coordinator run produces
 * genuine loss/accuracy curves and genuine privacy accounting (through the ledger) without sockets
 * or tfjs. The data generator is seeded and NOT cryptographic: it only makes test data.
 */
import { insecureSeededUniformForTests } from "@memarc/train/testing";
import {
  type EvaluateReply,
  type EvaluateRequest,
  type FitReply,
  type FitRequest,
  type NodePool,
  NotEnoughNodesError,
  type PoolNode,
} from "../coordinator/node-pool.js";
import type { Weights } from "../weights.js";

interface Split {
  x: Float64Array[];
  y: number[];
}

export interface LogisticNodeSpec {
  id: string;
  examples: number;
  seed: number;
  /** Added delay before answering a fit, so observers can see a round in progress. */
  fitDelayMs?: number;
}

export const FEATURES = 6;

/** A linear ground truth shared by all nodes; each node's features are shifted (non-IID-ish). */
function makeSplit(n: number, rnd: () => number, shift: number): Split {
  const truth = [1.5, -2, 0.7, 0, 1.1, -0.4];
  const x: Float64Array[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = Float64Array.from({ length: FEATURES }, () => rnd() * 2 - 1 + shift);
    const z = v.reduce((s, xi, j) => s + xi * truth[j]!, 0) + 0.3 * (rnd() - 0.5);
    x.push(v);
    y.push(z > 0 ? 1 : 0);
  }
  return { x, y };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function logit(w: Float32Array, v: Float64Array): number {
  let z = w[FEATURES]!; // bias
  for (let j = 0; j < FEATURES; j++) z += w[j]! * v[j]!;
  return z;
}

export function initialLogisticWeights(): Weights {
  return { w: new Float32Array(FEATURES + 1) };
}

class LogisticNode {
  readonly train: Split;
  readonly test: Split;
  constructor(readonly spec: LogisticNodeSpec) {
    const rnd = insecureSeededUniformForTests(spec.seed);
    const shift = (rnd() - 0.5) * 0.4;
    this.train = makeSplit(spec.examples, rnd, shift);
    this.test = makeSplit(Math.max(20, Math.round(spec.examples / 4)), rnd, shift);
  }

  /** `steps` full-batch gradient steps from the global weights; returns Δ and the starting loss. */
  fit(global: Float32Array, steps: number, lr: number): { delta: Float32Array; loss: number } {
    const w = Float64Array.from(global);
    let firstLoss = Number.NaN;
    for (let s = 0; s < steps; s++) {
      const g = new Float64Array(FEATURES + 1);
      let loss = 0;
      this.train.x.forEach((v, i) => {
        const p = sigmoid(logit(Float32Array.from(w), v));
        const y = this.train.y[i]!;
        loss -= y * Math.log(Math.max(p, 1e-12)) + (1 - y) * Math.log(Math.max(1 - p, 1e-12));
        for (let j = 0; j < FEATURES; j++) g[j]! += (p - y) * v[j]!;
        g[FEATURES]! += p - y;
      });
      if (s === 0) firstLoss = loss / this.train.x.length;
      for (let j = 0; j <= FEATURES; j++) w[j]! -= (lr * g[j]!) / this.train.x.length;
    }
    return { delta: Float32Array.from(w, (v, j) => v - global[j]!), loss: firstLoss };
  }

  /** Σ min(cross-entropy, bound) over the test split. */
  loss(w: Float32Array, bound: number): number {
    let sum = 0;
    this.test.x.forEach((v, i) => {
      const p = sigmoid(logit(w, v));
      const y = this.test.y[i]!;
      const l = -(y * Math.log(Math.max(p, 1e-12)) + (1 - y) * Math.log(Math.max(1 - p, 1e-12)));
      sum += Math.min(l, bound);
    });
    return sum;
  }

  accuracy(w: Float32Array): number {
    let ok = 0;
    this.test.x.forEach((v, i) => {
      if ((logit(w, v) > 0 ? 1 : 0) === this.test.y[i]) ok++;
    });
    return ok / this.test.x.length;
  }
}

/**
 * The coordinator's own test split for a logistic run: drawn like a node's data but held by the
 * coordinator, so its loss and accuracy are not computed from any node's data.
 */
export function logisticTestEvaluator(
  examples: number,
  seed: number,
): (weights: Weights) => Promise<{ loss: number; accuracy: number }> {
  // A LogisticNode's test split is a quarter of its training size: ask for 4× to hold `examples`.
  const held = new LogisticNode({ id: "coordinator-test", examples: examples * 4, seed });
  return async (weights) => {
    const w = weights.w!;
    return { loss: held.loss(w, Number.POSITIVE_INFINITY) / held.test.x.length, accuracy: held.accuracy(w) };
  };
}

export class LogisticPool implements NodePool {
  private readonly members = new Map<string, LogisticNode>();
  finished: string | null = null;

  constructor(
    specs: LogisticNodeSpec[],
    private readonly training = { steps: 5, lr: 0.5 },
    private readonly hooks: { connected?: (id: string) => void } = {},
  ) {
    for (const s of specs) this.add(s);
  }

  add(spec: LogisticNodeSpec): void {
    this.members.set(spec.id, new LogisticNode(spec));
    this.hooks.connected?.(spec.id);
  }

  nodes(): PoolNode[] {
    return [...this.members.values()].map((m) => ({ id: m.spec.id }));
  }

  async waitForNodes(min: number, deadline: number): Promise<PoolNode[]> {
    const start = Date.now();
    while (this.members.size < min) {
      if (Date.now() >= deadline) throw new NotEnoughNodesError(this.members.size, min, Date.now() - start);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.nodes();
  }

  async fit(nodeId: string, request: FitRequest, signal: AbortSignal): Promise<FitReply> {
    const m = this.members.get(nodeId);
    if (!m) throw new Error(`unknown node ${nodeId}`);
    if (m.spec.fitDelayMs) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, m.spec.fitDelayMs);
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          reject(new Error("aborted"));
        });
      });
    }
    const { delta } = m.fit(request.weights.w!, this.training.steps, this.training.lr);
    return { delta: { w: delta }, unclipped: null, localEpsilon: null };
  }

  /** Exact sums standing in for a real node's noised ones (this pool is a test double, not private). */
  async evaluate(nodeId: string, request: EvaluateRequest): Promise<EvaluateReply> {
    const m = this.members.get(nodeId)!;
    const n = m.test.x.length;
    const correct = Math.round(m.accuracy(request.weights.w!) * n);
    return { count: n, correct, lossSum: m.loss(request.weights.w!, request.mechanism.lossBound) };
  }

  async finish(reason: string): Promise<void> {
    this.finished = reason;
  }
}
