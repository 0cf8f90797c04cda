import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { siteSqNorm, siteWeightedSum } from "./bookkeeping.js";
import type { Site } from "./sites.js";

// A linear site's norm and clipped sum come from the small-product kernel (wasm/cpu): they must be
// the per-example gradients' norms and weighted sum, formed here one example at a time.
test("a linear site's norms and weighted sum equal a per-example loop (weights, bias, both orientations)", () => {
  for (const [din, dout] of [
    [6, 4],
    [4, 6],
    [384, 48],
  ] as const) {
    const a = tf.randomNormal([5, 3, din], 0, 1, "float32", 1) as tf.Tensor3D;
    const g = tf.randomNormal([5, 3, dout], 0, 1, "float32", 2) as tf.Tensor3D;
    const site: Site = { kind: "linear", weight: "w", bias: "b", a, g };
    const shapeOf = (n: string) => (n === "w" ? [din, dout] : [dout]);
    const wv = [1, 0.25, 0, 2, 0.5];
    const per = tf.unstack(a).map((ai, i) => {
      const gi = tf.unstack(g)[i] as tf.Tensor2D;
      return { w: tf.matMul(ai as tf.Tensor2D, gi, true), b: tf.sum(gi, 0) };
    });
    const norms = siteSqNorm(site)!.dataSync();
    per.forEach((p, i) => {
      const want = tf.add(tf.sum(tf.square(p.w)), tf.sum(tf.square(p.b))).dataSync()[0]!;
      assert.ok(Math.abs(norms[i]! - want) <= 1e-4 * want, `norm ${i}: ${norms[i]} vs ${want}`);
    });
    const sums = new Map(siteWeightedSum(site, tf.tensor1d(wv), shapeOf));
    for (const name of ["w", "b"] as const) {
      const got = sums.get(name)!;
      const want = tf.addN(per.map((p, i) => tf.mul(p[name], wv[i]!)));
      assert.deepEqual(got.shape, want.shape);
      const x = got.dataSync();
      const y = want.dataSync();
      for (let j = 0; j < y.length; j++)
        assert.ok(Math.abs(x[j]! - y[j]!) <= 1e-4 * (1 + Math.abs(y[j]!)), `${name}[${j}]`);
    }
  }
});
