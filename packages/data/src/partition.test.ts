import assert from "node:assert/strict";
import { test } from "node:test";
import { DataError } from "./errors.js";
import {
  dirichlet,
  iid,
  labelSkew,
  natural,
  type Partition,
  parsePartitionSpec,
  partition,
} from "./partition.js";
import { createSeededRng } from "./rng.js";
import { dedupeByText, stratifiedSplit } from "./split.js";

function assertCover(p: Partition, n: number): void {
  const seen = new Uint8Array(n);
  for (const node of p) {
    for (let j = 1; j < node.length; j++) assert.ok(node[j - 1]! < node[j]!, "node indices sorted");
    for (const i of node) {
      assert.ok(Number.isInteger(i) && i >= 0 && i < n, `index ${i} out of range`);
      assert.equal(seen[i], 0, `index ${i} assigned twice`);
      seen[i] = 1;
    }
  }
  assert.ok(
    seen.every((s) => s === 1),
    "some index not assigned",
  );
}

// 70/30 imbalanced binary labels, like the spam corpus.
const labels = Int32Array.from({ length: 2000 }, (_, i) => (i % 10 < 7 ? 0 : 1));

test("seeded rng: deterministic, uniform-ish, gamma and Dirichlet moments", () => {
  const a = createSeededRng(1);
  const b = createSeededRng(1);
  const xs = Array.from({ length: 5 }, () => a.nextUint32());
  assert.deepEqual(
    xs,
    Array.from({ length: 5 }, () => b.nextUint32()),
  );
  assert.notDeepEqual(
    xs,
    Array.from({ length: 5 }, () => createSeededRng(2).nextUint32()),
  );
  const r = createSeededRng("moments");
  const N = 40000;
  let m = 0;
  for (let i = 0; i < N; i++) m += r.next();
  assert.ok(Math.abs(m / N - 0.5) < 0.01);
  for (const shape of [0.3, 1, 4.5]) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < N; i++) {
      const g = r.gamma(shape);
      s += g;
      s2 += g * g;
    }
    const mean = s / N;
    const v = s2 / N - mean * mean;
    // Gamma(k, 1): mean k, variance k.
    assert.ok(Math.abs(mean - shape) < 0.05 * Math.max(1, shape), `gamma(${shape}) mean ${mean}`);
    assert.ok(Math.abs(v - shape) < 0.1 * Math.max(1, shape), `gamma(${shape}) var ${v}`);
  }
  const d = r.dirichlet(4, 0.01);
  assert.ok(Math.abs(d.reduce((x, y) => x + y, 0) - 1) < 1e-12);
});

test("stratified split: exact per-class counts, disjoint cover, seed determinism", () => {
  const s = stratifiedSplit(labels, { seed: 3 });
  assertCover([Array.from(s.train), Array.from(s.test)], labels.length);
  assert.equal(s.test.filter((i) => labels[i] === 0).length, 280);
  assert.equal(s.test.filter((i) => labels[i] === 1).length, 120);
  assert.deepEqual(stratifiedSplit(labels, { seed: 3 }), s);
  assert.notDeepEqual(stratifiedSplit(labels, { seed: 4 }).test, s.test);
});

test("dedupe keeps first occurrence and counts conflicting labels", () => {
  const r = dedupeByText([
    { text: "a", label: 0 },
    { text: "b", label: 1 },
    { text: "a", label: 0 },
    { text: "a", label: 1 },
  ]);
  assert.deepEqual(r.unique, [
    { text: "a", label: 0 },
    { text: "b", label: 1 },
  ]);
  assert.equal(r.duplicates, 2);
  assert.equal(r.conflictingLabels, 1);
});

test("iid: disjoint cover, balanced sizes, deterministic", () => {
  const p = iid(1003, 7, { seed: 5 });
  assertCover(p, 1003);
  const sizes = p.map((x) => x.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
  assert.deepEqual(iid(1003, 7, { seed: 5 }), p);
  assert.notDeepEqual(iid(1003, 7, { seed: 6 }), p);
  assert.ok(labelSkew(p, labels.slice(0, 1003)) < 0.1);
});

test("dirichlet: cover, determinism, minimum size, skew grows as alpha shrinks", () => {
  const skew = (alpha: number) => {
    let s = 0;
    for (let seed = 0; seed < 8; seed++) {
      const p = dirichlet(labels, 10, alpha, { seed, minSize: 20 });
      assertCover(p, labels.length);
      assert.ok(
        p.every((x) => x.length >= 20),
        `min size violated: ${p.map((x) => x.length)}`,
      );
      s += labelSkew(p, labels);
    }
    return s / 8;
  };
  const s100 = skew(100);
  const s1 = skew(1);
  const s01 = skew(0.1);
  assert.ok(s100 < 0.05, `alpha=100 skew ${s100}`);
  assert.ok(s100 < s1 && s1 < s01, `skew not monotone: ${s100} ${s1} ${s01}`);
  assert.deepEqual(dirichlet(labels, 10, 0.5, { seed: 9 }), dirichlet(labels, 10, 0.5, { seed: 9 }));
  // The rebalancing fallback: no resampling allowed, tiny alpha, still every node ≥ minSize.
  const forced = dirichlet(labels, 50, 0.01, { seed: 1, minSize: 39, maxResamples: 0 });
  assertCover(forced, labels.length);
  assert.ok(forced.every((x) => x.length >= 39));
  assert.throws(() => dirichlet(labels, 10, 0.5, { minSize: 201 }), DataError);
  assert.throws(() => dirichlet(labels, 10, 0), DataError);
});

test("natural: whole groups per node when nodes ≤ groups, groups split when nodes > groups", () => {
  const groups = Array.from({ length: 1000 }, (_, i) =>
    i < 500 ? "a" : i < 800 ? "b" : i < 900 ? "c" : i < 960 ? "d" : "e",
  );
  const p5 = natural(groups, 5);
  assertCover(p5, 1000);
  assert.deepEqual(
    p5.map((x) => x.length),
    [500, 300, 100, 60, 40],
  );
  const p2 = natural(groups, 2);
  assertCover(p2, 1000);
  for (const node of p2) assert.ok(new Set(node.map((i) => groups[i])).size >= 1);
  // Largest-first greedy: a | b + c + d + e.
  assert.deepEqual(
    p2.map((x) => x.length),
    [500, 500],
  );
  const p8 = natural(groups, 8, { seed: 2 });
  assertCover(p8, 1000);
  for (const node of p8) assert.equal(new Set(node.map((i) => groups[i])).size, 1, "node mixes groups");
  assert.deepEqual(natural(groups, 8, { seed: 2 }), p8);
  assert.throws(() => natural(groups.slice(0, 3), 4), DataError);
});

test("partition spec parsing and dispatch", () => {
  assert.deepEqual(parsePartitionSpec("iid"), { kind: "iid" });
  assert.deepEqual(parsePartitionSpec(" Dirichlet:0.5 "), { kind: "dirichlet", alpha: 0.5 });
  assert.deepEqual(parsePartitionSpec("dirichlet:1e-1"), { kind: "dirichlet", alpha: 0.1 });
  assert.deepEqual(parsePartitionSpec("natural"), { kind: "natural" });
  for (const bad of [
    "dirichlet",
    "dirichlet:",
    "dirichlet:0",
    "dirichlet:-1",
    "dirichlet:abc",
    "dirichlet:Infinity",
    "shards",
    "",
  ]) {
    assert.throws(
      () => parsePartitionSpec(bad),
      (e: unknown) =>
        e instanceof DataError && e.code === "E_DATA_BAD_PARTITION_SPEC" && e.message.includes("dirichlet"),
      bad,
    );
  }
  assertCover(partition("dirichlet:0.3", { labels }, 4), labels.length);
  assert.throws(() => partition("natural", { labels }, 4), DataError);
});
