import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { accumulate, clipFactors, siteWeightedSum, totalSqNorms } from "../core/bookkeeping.js";
import type { Site } from "../core/sites.js";
import { DeferredClip, keepsPerExample } from "./reversible-clip.js";
import { assertClose } from "./test-support.js";

before(async () => {
  await initBackend({ log: null });
});

const B = 4;
let k = 0;
const rnd = (shape: [number, number, number]) =>
  tf.randomNormal(shape, 0, 1, "float32", 1000 + k++) as tf.Tensor3D;

/** Sites of every materialisable kind, one that is kept as (a, g), and one never reached. */
function makeSites(): Site[] {
  return [
    { kind: "linear", weight: "ad.down.w", bias: "ad.down.b", a: rnd([B, 6, 8]), g: rnd([B, 6, 3]) },
    { kind: "linear", weight: "ad.up.w", a: rnd([B, 6, 3]), g: rnd([B, 6, 8]) },
    // Din·Dout = 400 > T·(Din + Dout) = 40: cheaper to keep (a, g).
    { kind: "linear", weight: "wide.w", bias: "wide.b", a: rnd([B, 1, 20]), g: rnd([B, 1, 20]) },
    { kind: "affine", gamma: "ln.g", beta: "ln.b", a: rnd([B, 5, 8]), g: rnd([B, 5, 8]) },
    { kind: "gate", alpha: "gate.a", factor: 0.3, a: rnd([B, 5, 8]), g: rnd([B, 5, 8]) },
    { kind: "linear", weight: "unused.w", a: rnd([B, 5, 8]) },
  ];
}

const shapes: Record<string, number[]> = {
  "ad.down.w": [8, 3],
  "ad.down.b": [3],
  "ad.up.w": [3, 8],
  "wide.w": [20, 20],
  "wide.b": [20],
  "ln.g": [8],
  "ln.b": [8],
  "gate.a": [1],
  "unused.w": [8, 8],
};
const shapeOf = (n: string) => shapes[n]!;

test("keepsPerExample: adapters reduce to per-example gradients, wide sites at small T keep (a, g)", () => {
  const site = (t: number, din: number, dout: number) => ({
    kind: "linear" as const,
    weight: "w",
    bias: "b",
    a: tf.zeros([1, t, din]) as tf.Tensor3D,
    g: tf.zeros([1, t, dout]) as tf.Tensor3D,
  });
  const cases: [number, number, number, boolean][] = [
    [128, 128, 16, true], // adapter down at the bench shape
    [128, 16, 128, true], // adapter up
    [1, 128, 2, false], // classifier on pooled states: (a, g) is 130 floats, the gradient 258
    [1, 768, 768, false],
  ];
  for (const [t, din, dout, want] of cases) {
    const s = site(t, din, dout);
    assert.equal(keepsPerExample(s), want, `T=${t} ${din}→${dout}`);
    tf.dispose([s.a, s.g]);
  }
});

test("DeferredClip: norms and clipped sums equal book-keeping over the same sites", () => {
  const ref = makeSites();
  const copy = ref.map((s) => {
    const c = { ...s } as Site;
    if (c.kind !== "embed") c.a = tf.clone(c.a);
    if (c.g) c.g = tf.clone(c.g);
    return c;
  });
  const start = tf.memory().numTensors;
  const store = new DeferredClip(B, shapeOf);
  store.add(copy.slice(0, 3));
  store.add(copy.slice(3));
  const floats = store.perExampleFloats();
  assert.equal(floats.reduced, 8 * 3 + 3 + 3 * 8 + 2 * 8 + 1);
  assert.equal(floats.kept, 2 * 20);
  const sq = store.sqNorms();
  const want = totalSqNorms(ref, B);
  assertClose("sq norms", sq, want, 1e-4);
  for (const C of [0.5, 3, 1e9]) {
    const c = clipFactors(want, C);
    const acc = new Map<string, tf.Tensor>();
    store.clippedSum(c, acc);
    const wantAcc = new Map<string, tf.Tensor>();
    for (const s of ref) accumulate(wantAcc, siteWeightedSum(s, c, shapeOf));
    assert.deepEqual([...acc.keys()].sort(), [...wantAcc.keys()].sort());
    for (const [n, t] of wantAcc) assertClose(`C=${C} ${n}`, acc.get(n)!, t, 1e-4);
    tf.dispose([c, ...acc.values(), ...wantAcc.values()]);
  }
  tf.dispose([sq, want]);
  store.dispose();
  assert.equal(tf.memory().numTensors, start - copy.length - copy.filter((s) => s.g).length);
  for (const s of ref) {
    if (s.kind !== "embed") s.a.dispose();
    s.g?.dispose();
  }
});
