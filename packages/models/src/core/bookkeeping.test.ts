import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { siteSqNorm, siteWeightedSum } from "./bookkeeping.js";
import type { Site } from "./sites.js";

// A linear site's clipped sum is formed from the per-example products its norm pass kept (wasm/cpu)
// or, past the memory budget, by a second product over the batch: both must give the same numbers.
test("a linear site's norms and weighted sum are the same with and without kept per-example products", () => {
  for (const [din, dout] of [
    [6, 4],
    [4, 6],
  ] as const) {
    const site = (): Site => ({
      kind: "linear",
      weight: "w",
      bias: "b",
      a: tf.randomNormal([5, 3, din], 0, 1, "float32", 1) as tf.Tensor3D,
      g: tf.randomNormal([5, 3, dout], 0, 1, "float32", 2) as tf.Tensor3D,
    });
    const shapeOf = (n: string) => (n === "w" ? [din, dout] : [dout]);
    const w = tf.tensor1d([1, 0.25, 0, 2, 0.5]);
    const [kept, recomputed] = [site(), site()];
    const nKept = siteSqNorm(kept, true)!.dataSync();
    const nRe = siteSqNorm(recomputed, false)!.dataSync();
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(nKept[i]! - nRe[i]!) <= 1e-4 * nRe[i]!, `norm ${i}`);
    const sKept = new Map(siteWeightedSum(kept, w, shapeOf));
    const sRe = new Map(siteWeightedSum(recomputed, w, shapeOf));
    for (const name of ["w", "b"]) {
      const x = sKept.get(name)!.dataSync();
      const y = sRe.get(name)!.dataSync();
      assert.deepEqual(sKept.get(name)!.shape, sRe.get(name)!.shape);
      for (let j = 0; j < y.length; j++)
        assert.ok(Math.abs(x[j]! - y[j]!) <= 1e-4 * (1 + Math.abs(y[j]!)), `${name}[${j}]`);
    }
  }
});
