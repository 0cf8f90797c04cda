import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "./backend.js";
import { embeddingLookup } from "./embedding.js";
import {
  batchMatMul,
  bmm,
  dense,
  matMul2d,
  matMulConstB,
  perExampleOuterSqNorm,
  perExampleTokenSumSqNorm,
  weightedOuterSum,
  weightedTokenSum,
} from "./matmul.js";
import { measurePeak } from "./memory.js";
import { assertTensorsClose } from "./testing/close.js";

before(async () => {
  await initBackend({ log: null });
});

const close = (a: tf.Tensor, b: tf.Tensor, rtol = 1e-5, atol = 1e-6) =>
  assertTensorsClose(a, b, { atol, rtol });

test("matMul2d gradients equal tfjs built-in matMul gradients", () => {
  const a = tf.randomNormal([5, 7], 0, 1, "float32", 1) as tf.Tensor2D;
  const b = tf.randomNormal([7, 3], 0, 1, "float32", 2) as tf.Tensor2D;
  const w = tf.randomNormal([5, 3], 0, 1, "float32", 3);
  const before = tf.memory().numTensors;
  const mine = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
    tf.sum(tf.mul(matMul2d(x as tf.Tensor2D, y as tf.Tensor2D), w)),
  )([a, b]);
  const ref = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
    tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), w)),
  )([a, b]);
  close(mine[0]!, ref[0]!);
  close(mine[1]!, ref[1]!);
  tf.dispose([...mine, ...ref]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([a, b, w]);
});

test("matMulConstB passes gradient to the input only, equal to built-in", () => {
  const a = tf.randomNormal([4, 6], 0, 1, "float32", 4) as tf.Tensor2D;
  const b = tf.randomNormal([6, 2], 0, 1, "float32", 5) as tf.Tensor2D;
  const [g] = tf.grads((x: tf.Tensor) => tf.sum(tf.square(matMulConstB(x as tf.Tensor2D, b))))([a]);
  const [r] = tf.grads((x: tf.Tensor) => tf.sum(tf.square(tf.matMul(x as tf.Tensor2D, b))))([a]);
  close(g!, r!);
  tf.dispose([a, b, g!, r!]);
});

test("bmm gradients equal built-in batched matMul gradients", () => {
  const a = tf.randomNormal([2, 3, 4, 5], 0, 1, "float32", 6);
  const b = tf.randomNormal([2, 3, 5, 4], 0, 1, "float32", 7);
  const mine = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.sin(bmm(x, y))))([a, b]);
  const ref = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
    tf.sum(tf.sin(tf.matMul(x as tf.Tensor4D, y as tf.Tensor4D))),
  )([a, b]);
  close(mine[0]!, ref[0]!, 1e-4, 1e-5);
  close(mine[1]!, ref[1]!, 1e-4, 1e-5);
  tf.dispose([a, b, ...mine, ...ref]);
});

test("dense on [B,T,D] equals a batched reference, with bias gradient", () => {
  const x = tf.randomNormal([2, 3, 4], 0, 1, "float32", 8);
  const w = tf.randomNormal([4, 5], 0, 1, "float32", 9) as tf.Tensor2D;
  const bias = tf.randomNormal([5], 0, 1, "float32", 10) as tf.Tensor1D;
  const f = (useMine: boolean) => (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => {
    const y = useMine
      ? dense(xx as tf.Tensor3D, ww as tf.Tensor2D, bb as tf.Tensor1D)
      : tf.add(tf.matMul(tf.reshape(xx, [6, 4]) as tf.Tensor2D, ww as tf.Tensor2D).reshape([2, 3, 5]), bb);
    assert.deepEqual(y.shape, [2, 3, 5]);
    return tf.sum(tf.tanh(y));
  };
  const mine = tf.grads(f(true))([x, w, bias]);
  const ref = tf.grads(f(false))([x, w, bias]);
  for (let i = 0; i < 3; i++) close(mine[i]!, ref[i]!, 1e-4, 1e-5);
  tf.dispose([x, w, bias, ...mine, ...ref]);
});

test("embeddingLookup gradient sums duplicate ids and matches a one-hot reference", () => {
  const table = tf.randomNormal([6, 3], 0, 1, "float32", 11) as tf.Tensor2D;
  const ids = tf.tensor2d(
    [
      [1, 4, 1],
      [5, 1, 0],
    ],
    [2, 3],
    "int32",
  );
  const up = tf.randomNormal([2, 3, 3], 0, 1, "float32", 12);
  const before = tf.memory().numTensors;
  const [g] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(embeddingLookup(t as tf.Tensor2D, ids), up)))([table]);
  const [r] = tf.grads((t: tf.Tensor) => {
    const oh = tf.oneHot(tf.reshape(ids, [-1]) as tf.Tensor1D, 6).toFloat() as tf.Tensor2D;
    return tf.sum(tf.mul(tf.matMul(oh, t as tf.Tensor2D).reshape([2, 3, 3]), up));
  })([table]);
  close(g!, r!);
  tf.dispose([g!, r!]);
  assert.equal(tf.memory().numTensors, before);
  const out = embeddingLookup(table, ids);
  assert.deepEqual(out.shape, [2, 3, 3]);
  close(out.slice([0, 1, 0], [1, 1, 3]).reshape([3]), table.slice([4, 0], [1, 3]).reshape([3]));
  tf.dispose([table, ids, up, out]);
});

test("measurePeak reports the step's peak above the start and counts leaks", async () => {
  const held = tf.zeros([1000]); // present before the step: must not count
  const r = await measurePeak(() => {
    tf.tidy(() => {
      const a = tf.ones([256, 256]); // 256 KiB
      const b = tf.add(a, 1); // another 256 KiB alive together with a
      return tf.sum(b);
    }).dispose();
  });
  assert.ok(r.peakBytes >= 2 * 256 * 1024, `peak ${r.peakBytes}`);
  assert.ok(r.peakBytes < 2 * 256 * 1024 + 64 * 1024, `peak ${r.peakBytes}`);
  assert.equal(r.leakedTensors, 0);
  const leak = await measurePeak(() => tf.ones([10]));
  assert.equal(leak.leakedTensors, 1);
  assert.equal(leak.retainedBytes, 40);
  leak.result.dispose();
  held.dispose();
});

test("batchMatMul (the small-product kernel on wasm) equals tfjs's batched matMul, 3-D and 4-D, with transposes", () => {
  for (const [a, b] of [
    [tf.randomNormal([5, 7, 3], 0, 1, "float32", 4), tf.randomNormal([5, 3, 6], 0, 1, "float32", 5)],
    [tf.randomNormal([2, 3, 4, 5], 0, 1, "float32", 6), tf.randomNormal([2, 3, 5, 2], 0, 1, "float32", 7)],
  ] as const) {
    const before = tf.memory().numTensors;
    const mine = batchMatMul(a, b);
    assert.equal(tf.memory().numTensors, before + 1, "only the result is left");
    close(mine, tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D));
    const at = tf.transpose(a, a.rank === 3 ? [0, 2, 1] : [0, 1, 3, 2]);
    const bt = tf.transpose(b, b.rank === 3 ? [0, 2, 1] : [0, 1, 3, 2]);
    close(batchMatMul(at, b, { transposeA: true }), mine);
    close(batchMatMul(a, bt, { transposeB: true }), mine);
    close(batchMatMul(at, bt, { transposeA: true, transposeB: true }), mine);
  }
});

test("perExampleOuterSqNorm equals ‖a_iᵀ g_i‖² from an explicit per-example loop, both orientations", () => {
  for (const [din, dout] of [
    [7, 3],
    [3, 7],
  ] as const) {
    const a = tf.randomNormal([4, 5, din], 0, 1, "float32", 8) as tf.Tensor3D;
    const g = tf.randomNormal([4, 5, dout], 0, 1, "float32", 9) as tf.Tensor3D;
    const want = tf.stack(
      tf
        .unstack(a)
        .map((ai, i) =>
          tf.sum(tf.square(tf.matMul(ai as tf.Tensor2D, tf.unstack(g)[i] as tf.Tensor2D, true, false))),
        ),
    );
    close(perExampleOuterSqNorm(a, g), want, 1e-5, 1e-5);
  }
});

test("weightedOuterSum (Σ w_i a_iᵀ g_i), the norms and the bias sums equal an explicit per-example loop, both orientations, whole tiles and ragged", () => {
  for (const [n, t, din, dout] of [
    [4, 5, 7, 3],
    [4, 5, 3, 7],
    [3, 64, 48, 384],
  ] as const) {
    const a = tf.randomNormal([n, t, din], 0, 1, "float32", 10) as tf.Tensor3D;
    const g = tf.randomNormal([n, t, dout], 0, 1, "float32", 11) as tf.Tensor3D;
    const per = tf
      .unstack(a)
      .map((ai, i) => tf.matMul(ai as tf.Tensor2D, tf.unstack(g)[i] as tf.Tensor2D, true));
    const w = Float32Array.from({ length: n }, (_, i) => [0.5, 0, 2, -1][i % 4]!);
    close(weightedOuterSum(a, g, w), tf.addN(per.map((x, i) => tf.mul(x, w[i]!))), 1e-4, 1e-4);
    close(weightedOuterSum(a, g, null), tf.addN(per), 1e-4, 1e-4);
    close(perExampleOuterSqNorm(a, g), tf.stack(per.map((x) => tf.sum(tf.square(x)))), 1e-4, 1e-4);
    const biasNorms = tf.unstack(g).map((gi) => tf.sum(tf.square(tf.sum(gi, 0))));
    close(perExampleTokenSumSqNorm(g), tf.stack(biasNorms), 1e-4, 1e-4);
    const biasSum = tf.addN(tf.unstack(g).map((gi, i) => tf.mul(tf.sum(gi, 0), w[i]!)));
    close(weightedTokenSum(g, w), biasSum, 1e-4, 1e-4);
    close(weightedTokenSum(g, null), tf.sum(g, [0, 1]), 1e-4, 1e-4);
  }
});

test("on wasm a clone (and every tensor the engine saves for backward) shares its input's memory; values outlive either", () => {
  assert.equal(tf.getBackend(), "wasm");
  const x = tf.tensor1d([1, 2, 3, 4]);
  const before = tf.memory();
  const y = tf.clone(x);
  // (tf.memory().numBytes counts every tensor's bytes, shared or not, as it does for reshapes.)
  assert.equal(y.dataId, x.dataId, "no copy: the same data");
  assert.equal(tf.memory().numDataBuffers, before.numDataBuffers, "no new buffer");
  assert.equal(tf.memory().numTensors, before.numTensors + 1);
  x.dispose();
  assert.deepEqual(
    Array.from(y.dataSync()),
    [1, 2, 3, 4],
    "the clone keeps the data after its input is freed",
  );
  y.dispose();
  assert.equal(
    tf.memory().numDataBuffers,
    before.numDataBuffers - 1,
    "freed with the last tensor that uses it",
  );
  // A gradient through ops that save their inputs (mul saves both, exp its output) is unchanged.
  const a = tf.tensor1d([0.5, -1, 2]);
  const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.exp(v), v)))(a);
  const want = [0.5, -1, 2].map((v) => Math.exp(v) * (1 + v));
  close(g, tf.tensor1d(want));
});
