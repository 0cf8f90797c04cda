import { DataError } from "./errors.js";
import { createSeededRng, DEFAULT_SEED, type SeededRng } from "./rng.js";

/*
 * Federated partitioners: each returns, for every node, the (ascending) indices of its examples.
 * Together the nodes cover every index exactly once. They only decide which simulated node holds
 * which public example, so they use the seeded generator; same seed ⇒ same partition.
 */

export type Partition = number[][];

export interface PartitionOptions {
  seed?: number | string;
}

function checkNodes(n: number, nodes: number): void {
  if (!Number.isInteger(nodes) || nodes < 1)
    throw new DataError("E_DATA_PARTITION", `nodes must be an integer ≥ 1, got ${nodes}`);
  if (nodes > n)
    throw new DataError(
      "E_DATA_PARTITION",
      `cannot give ${nodes} nodes at least one example each: only ${n} examples`,
    );
}

function sortAll(p: Partition): Partition {
  for (const a of p) a.sort((x, y) => x - y);
  return p;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Shuffle 0…n-1 and deal it into `nodes` nearly equal parts (sizes differ by at most one). */
export function iid(n: number, nodes: number, options: PartitionOptions = {}): Partition {
  if (!Number.isInteger(n) || n < 0)
    throw new DataError("E_DATA_PARTITION", `n must be an integer ≥ 0, got ${n}`);
  checkNodes(n, nodes);
  const idx = createSeededRng(options.seed ?? DEFAULT_SEED).shuffle(range(n));
  const out: Partition = [];
  for (let k = 0; k < nodes; k++) {
    out.push(idx.slice(Math.floor((k * n) / nodes), Math.floor(((k + 1) * n) / nodes)));
  }
  return sortAll(out);
}

export interface DirichletOptions extends PartitionOptions {
  /**
   * Every node gets at least this many examples (default min(10, floor(n / nodes))). Achieved by
   * redrawing the Dirichlet proportions (up to `maxResamples` times, as in the NIID-Bench
   * recipe) and, if that still fails, by moving random examples from the largest nodes.
   */
  minSize?: number;
  maxResamples?: number;
}

/**
 * Label-skewed partition: for every class c, proportions p_c ~ Dirichlet(α, …, α) over the nodes
 * and the class's (shuffled) examples are cut at the cumulative proportions. Small α (0.1) gives
 * nodes dominated by one class; large α (100) approaches iid.
 */
export function dirichlet(
  labels: ArrayLike<number>,
  nodes: number,
  alpha: number,
  options: DirichletOptions = {},
): Partition {
  const n = labels.length;
  checkNodes(n, nodes);
  if (!(alpha > 0) || !Number.isFinite(alpha)) {
    throw new DataError("E_DATA_PARTITION", `Dirichlet alpha must be a finite number > 0, got ${alpha}`);
  }
  const minSize = options.minSize ?? Math.min(10, Math.floor(n / nodes));
  if (!Number.isInteger(minSize) || minSize < 0 || minSize * nodes > n) {
    throw new DataError(
      "E_DATA_PARTITION",
      `minSize ${minSize} is impossible: ${nodes} nodes × ${minSize} > ${n} examples (or not an integer ≥ 0)`,
    );
  }
  const maxResamples = options.maxResamples ?? 100;
  const rng = createSeededRng(options.seed ?? DEFAULT_SEED);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    const list = byClass.get(l);
    if (list) list.push(i);
    else byClass.set(l, [i]);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  let parts: Partition = [];
  for (let attempt = 0; attempt <= maxResamples; attempt++) {
    parts = Array.from({ length: nodes }, () => []);
    for (const c of classes) {
      const idx = rng.shuffle(byClass.get(c)!.slice());
      const p = rng.dirichlet(nodes, alpha);
      let cum = 0;
      let start = 0;
      for (let k = 0; k < nodes; k++) {
        cum += p[k]!;
        const end = k === nodes - 1 ? idx.length : Math.min(idx.length, Math.round(cum * idx.length));
        for (let j = start; j < end; j++) parts[k]!.push(idx[j]!);
        start = Math.max(start, end);
      }
    }
    if (parts.every((a) => a.length >= minSize)) return sortAll(parts);
  }
  rebalance(parts, minSize, rng);
  return sortAll(parts);
}

/** Move random examples from the currently largest node to each node below `minSize`. */
function rebalance(parts: Partition, minSize: number, rng: SeededRng): void {
  for (const small of parts) {
    while (small.length < minSize) {
      let big = parts[0]!;
      for (const p of parts) if (p.length > big.length) big = p;
      const j = rng.nextInt(big.length);
      small.push(big[j]!);
      big[j] = big[big.length - 1]!;
      big.pop();
    }
  }
}

/**
 * Partition by the corpus' own groups (e.g. SpamAssassin's easy-ham-1, spam-2, …): a "natural"
 * split where each node holds whole groups.
 * - nodes ≤ groups: groups are assigned largest-first to the node with the fewest examples
 *   (greedy balancing; ties broken by node number), so each node holds one or more whole groups.
 * - nodes > groups: every group gets at least one node, the remaining nodes go one by one to the
 *   group with the most examples per node; a group's examples are dealt (seeded shuffle) evenly
 *   over its nodes. Each node then holds examples of exactly one group.
 */
export function natural(groups: readonly string[], nodes: number, options: PartitionOptions = {}): Partition {
  const n = groups.length;
  checkNodes(n, nodes);
  const rng = createSeededRng(options.seed ?? DEFAULT_SEED);
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => {
    const list = byGroup.get(g);
    if (list) list.push(i);
    else byGroup.set(g, [i]);
  });
  // Largest first, then by name: independent of input order of equal-size groups.
  const names = [...byGroup.keys()].sort(
    (a, b) => byGroup.get(b)!.length - byGroup.get(a)!.length || (a < b ? -1 : 1),
  );
  const out: Partition = Array.from({ length: nodes }, () => []);
  if (nodes <= names.length) {
    for (const g of names) {
      let k = 0;
      for (let j = 1; j < nodes; j++) if (out[j]!.length < out[k]!.length) k = j;
      out[k]!.push(...byGroup.get(g)!);
    }
    return sortAll(out);
  }
  const share = names.map(() => 1);
  for (let extra = nodes - names.length; extra > 0; extra--) {
    let best = 0;
    for (let j = 1; j < names.length; j++) {
      if (byGroup.get(names[j]!)!.length / share[j]! > byGroup.get(names[best]!)!.length / share[best]!)
        best = j;
    }
    share[best]!++;
  }
  let node = 0;
  names.forEach((g, j) => {
    const idx = rng.shuffle(byGroup.get(g)!.slice());
    const s = share[j]!;
    for (let k = 0; k < s; k++) {
      out[node + k]!.push(
        ...idx.slice(Math.floor((k * idx.length) / s), Math.floor(((k + 1) * idx.length) / s)),
      );
    }
    node += s;
  });
  if (out.some((a) => a.length === 0)) {
    throw new DataError(
      "E_DATA_PARTITION",
      `natural partition: a group is smaller than the nodes assigned to it`,
    );
  }
  return sortAll(out);
}

export type PartitionSpec = { kind: "iid" } | { kind: "dirichlet"; alpha: number } | { kind: "natural" };

/** Parse "iid", "dirichlet:<alpha>" (alpha > 0, e.g. dirichlet:0.5) or "natural". */
export function parsePartitionSpec(spec: string): PartitionSpec {
  const s = spec.trim().toLowerCase();
  if (s === "iid") return { kind: "iid" };
  if (s === "natural") return { kind: "natural" };
  if (s === "dirichlet") {
    throw new DataError(
      "E_DATA_BAD_PARTITION_SPEC",
      `partition "dirichlet" needs a concentration: dirichlet:<alpha>, e.g. dirichlet:0.5`,
    );
  }
  if (s.startsWith("dirichlet:")) {
    const a = s.slice("dirichlet:".length).trim();
    const alpha = /^(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/.test(a) ? Number(a) : Number.NaN;
    if (!(alpha > 0) || !Number.isFinite(alpha)) {
      throw new DataError(
        "E_DATA_BAD_PARTITION_SPEC",
        `partition "${spec}": alpha must be a number > 0, e.g. dirichlet:0.5`,
      );
    }
    return { kind: "dirichlet", alpha };
  }
  throw new DataError(
    "E_DATA_BAD_PARTITION_SPEC",
    `unknown partition "${spec}": expected one of iid, dirichlet:<alpha> (e.g. dirichlet:0.5), natural`,
  );
}

/** Apply a spec to a dataset's labels/groups. */
export function partition(
  spec: PartitionSpec | string,
  data: { labels: ArrayLike<number>; groups?: readonly string[] },
  nodes: number,
  options: PartitionOptions = {},
): Partition {
  const s = typeof spec === "string" ? parsePartitionSpec(spec) : spec;
  if (s.kind === "iid") return iid(data.labels.length, nodes, options);
  if (s.kind === "dirichlet") return dirichlet(data.labels, nodes, s.alpha, options);
  if (!data.groups) throw new DataError("E_DATA_PARTITION", "natural partition needs per-example groups");
  return natural(data.groups, nodes, options);
}

/**
 * Label skew of a partition: mean over nodes of the total-variation distance between the node's
 * label distribution and the global one (0 = iid-like, → 1 − max global share for one-class nodes).
 */
export function labelSkew(p: Partition, labels: ArrayLike<number>): number {
  const global = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) global.set(labels[i]!, (global.get(labels[i]!) ?? 0) + 1);
  let total = 0;
  let counted = 0;
  for (const node of p) {
    if (node.length === 0) continue;
    const local = new Map<number, number>();
    for (const i of node) local.set(labels[i]!, (local.get(labels[i]!) ?? 0) + 1);
    let tv = 0;
    for (const [c, g] of global) tv += Math.abs((local.get(c) ?? 0) / node.length - g / labels.length);
    total += tv / 2;
    counted++;
  }
  return counted === 0 ? 0 : total / counted;
}
