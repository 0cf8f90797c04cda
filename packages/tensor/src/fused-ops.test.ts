import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "./backend.js";
import { attentionForward, geluForward } from "./fused-kernels.js";
import { geluErf, multiHeadAttention, normalizeLastAxis } from "./fused-ops.js";
import { assertTensorsClose } from "./testing/close.js";
import { kernelCounters } from "./wasm-kernels.js";

before(async () => {
  await initBackend({ log: null });
  assert.equal(tf.getBackend(), "wasm");
});

const close = (a: tf.Tensor, b: tf.Tensor, atol: number, rtol = 1e-4) =>
  assertTensorsClose(a, b, { atol, rtol });

/** Runs `fn` and returns how many fused-kernel calls it made (the kernel path really ran). */
function fusedCalls(fn: () => void): number {
  const c0 = kernelCounters().fused.calls;
  fn();
  return kernelCounters().fused.calls - c0;
}

/** value and input gradients of Σ f(x)⊙w, w fixed random: the gradient for an arbitrary upstream. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed: number) {
  const y = f(...xs);
  const w = tf.randomNormal(y.shape, 0, 1, "float32", seed);
  const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w)))(xs);
  return { y, grads };
}

test("normalizeLastAxis: the fused kernel equals tf.moments' normalisation, value and gradient (autodiff)", () => {
  // Offset and scaled rows (LayerNorm's real inputs are not centred), a width that is not a multiple of 4.
  const x = tf.add(tf.mul(tf.randomNormal([3, 5, 47], 0, 1, "float32", 1), 3), 5);
  const ref = (z: tf.Tensor) => {
    const { mean, variance } = tf.moments(z, -1, true);
    return tf.mul(tf.sub(z, mean), tf.rsqrt(tf.add(variance, 1e-12)));
  };
  let fused!: ReturnType<typeof valueAndGrads>;
  assert.equal(
    fusedCalls(() => {
      fused = valueAndGrads((z) => normalizeLastAxis(z, 1e-12), [x], 7);
    }) >= 2,
    true,
  );
  const want = valueAndGrads(ref, [x], 7);
  close(fused.y, want.y, 1e-5);
  close(fused.grads[0]!, want.grads[0]!, 2e-5);
});

test("geluErf: the fused kernel equals the erf composite and its autodiff gradient, tails included", () => {
  const x = tf.concat(
    [
      tf.mul(tf.randomNormal([2, 3, 64], 0, 1, "float32", 2), 3),
      tf
        .reshape(
          tf.tensor1d([0, -0, 1e-8, -1e-8, 0.5, -0.5, 5, -5, 10, -10, 30, -30, 100, -100, 6.5, -6.5]),
          [2, 1, 8],
        )
        .tile([1, 3, 8]),
    ],
    2,
  );
  const ref = (z: tf.Tensor) => tf.mul(tf.mul(0.5, z), tf.add(1, tf.erf(tf.mul(z, Math.SQRT1_2))));
  let fused!: ReturnType<typeof valueAndGrads>;
  const calls = fusedCalls(() => {
    fused = valueAndGrads((z) => geluErf(z), [x], 3);
  });
  assert.equal(calls >= 2, true);
  const want = valueAndGrads(ref, [x], 3);
  close(fused.y, want.y, 3e-7, 1e-6);
  close(fused.grads[0]!, want.grads[0]!, 5e-7, 1e-6);
  // Far tails are exact: x for large x, 0 (here −0) for very negative x.
  const y = geluForward(new Float32Array([100, -100, 30, -30]), (v) => Array.from(v, (e) => e + 0));
  assert.deepEqual(y, [100, 0, 30, 0]);
});

/** The composite reference written with plain tfjs ops: heads split by transposes, tf.softmax. */
function attentionReference(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number, bias: tf.Tensor) {
  const [b, t, d] = q.shape as [number, number, number];
  const split = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [b, t, heads, d / heads]), [0, 2, 1, 3]);
  const s = tf.add(tf.mul(tf.matMul(split(q), split(k), false, true), 1 / Math.sqrt(d / heads)), bias);
  const ctx = tf.matMul(tf.softmax(s), split(v));
  return tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [b, t, d]);
}

/** The models' masks: -1e9 on padded keys (and, causal, on later keys). */
function biasFor(lengths: number[], t: number, causal: boolean): tf.Tensor4D {
  const b = lengths.length;
  const mask = tf.tensor2d(
    lengths.flatMap((n) => Array.from({ length: t }, (_, s) => (s < n ? 1 : 0))),
    [b, t],
  );
  const keys = tf.reshape(mask, [b, 1, 1, t]);
  const allowed = causal ? tf.mul(tf.linalg.bandPart(tf.ones([t, t]), -1, 0), keys) : keys;
  return tf.mul(tf.sub(1, allowed), -1e9) as tf.Tensor4D;
}

for (const { name, heads, hd, t, causal } of [
  { name: "padding mask, ragged tiles", heads: 2, hd: 5, t: 7, causal: false },
  { name: "the side network's shape (2 heads of 24)", heads: 2, hd: 24, t: 17, causal: false },
  { name: "causal mask (GPT-2)", heads: 3, hd: 8, t: 9, causal: true },
])
  test(`multiHeadAttention: the fused kernel equals the composite and its autodiff gradients — ${name}`, () => {
    const lengths = [t, Math.max(1, t - 3), 2];
    const d = heads * hd;
    const [q, k, v] = [11, 12, 13].map((s) => tf.randomNormal([3, t, d], 0, 1, "float32", s));
    const bias = biasFor(lengths, t, causal);
    let fused!: ReturnType<typeof valueAndGrads>;
    const calls = fusedCalls(() => {
      fused = valueAndGrads(
        (a, b, c) => multiHeadAttention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, heads, bias),
        [q!, k!, v!],
        5,
      );
    });
    assert.equal(calls >= 2, true, "the kernel path ran forward and backward");
    const want = valueAndGrads((a, b, c) => attentionReference(a, b, c, heads, bias), [q!, k!, v!], 5);
    close(fused.y, want.y, 1e-5);
    for (let i = 0; i < 3; i++) close(fused.grads[i]!, want.grads[i]!, 2e-5);
  });

test("attention: a padded key's value never reaches the output (its probability is exactly 0)", () => {
  const s = { b: 1, t: 4, heads: 1, headDim: 4 };
  const q = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i));
  const k = Float32Array.from({ length: 16 }, (_, i) => Math.cos(i));
  const v = Float32Array.from({ length: 16 }, (_, i) => i / 7);
  const bias = { kind: "keys" as const, values: new Float32Array([0, 0, 0, -1e9]) };
  const run = (vv: Float32Array) =>
    attentionForward(s, q, k, vv, bias, (p, c) => [Array.from(p), Array.from(c)]);
  const [p, c] = run(v);
  for (let t = 0; t < 4; t++) assert.equal(p![t * 4 + 3], 0);
  const v2 = v.slice();
  v2.fill(1e6, 12, 16);
  assert.deepEqual(run(v2)[1], c);
});

test("fused kernels refuse operands of the wrong size, naming them", () => {
  const s = { b: 2, t: 3, heads: 1, headDim: 2 };
  const ok = new Float32Array(12);
  assert.throws(
    () => attentionForward(s, ok, new Float32Array(11), ok, { kind: "none" }, () => 0),
    /k has 11 numbers, expected 12/,
  );
  assert.throws(
    () => attentionForward({ ...s, heads: 0 }, ok, ok, ok, { kind: "none" }, () => 0),
    /heads must be a positive integer/,
  );
  assert.throws(
    () => attentionForward(s, ok, ok, ok, { kind: "keys", values: new Float32Array(5) }, () => 0),
    /bias has 5 numbers, expected 6/,
  );
});
