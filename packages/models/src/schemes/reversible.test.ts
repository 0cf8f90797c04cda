import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { Tracer } from "../core/tracer.js";
import { ReversibleScheme } from "./reversible.js";
import {
  assertClose,
  autodiffGrads,
  checkRejectsLm,
  checkScheme,
  disposeBatch,
  sliceBatch,
  TEST_BACKBONES,
  tinyBatch,
} from "./test-support.js";

before(async () => {
  await initBackend({ log: null });
});

/** Move adapters off their zero init so every parameter gets gradient. */
function perturb(s: ReversibleScheme): void {
  for (const [, v] of s.trainable) v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.05, "float32", v.size)));
}

for (const arch of TEST_BACKBONES) {
  const vocab = arch.config.vocabSize;

  test(`reversible (${arch.name}): reconstructing DP backward = autodiff; norms and clipped sum = per-example loop`, () => {
    const bb = arch.make(4, { perturb: true });
    const s = new ReversibleScheme(bb, { numClasses: 3, adapterDim: 4, initSeed: 5 });
    perturb(s);
    const batch = tinyBatch(3, 6, vocab, 3);
    for (const obj of arch.objectives) checkScheme(s, batch, obj);
    if (!bb.causal) checkRejectsLm(s, batch);
    const m = new ReversibleScheme(bb, { numClasses: 3, adapterDim: 4, initSeed: 5, coupling: "meft1" });
    perturb(m);
    checkScheme(m, batch, "classify");
    m.dispose();
    disposeBatch(batch);
    s.dispose();
    bb.dispose();
  });

  test(`reversible (${arch.name}): dropout masks are replayed exactly in the reconstruction and the backward`, () => {
    const bb = arch.make(5, { perturb: true });
    const s = new ReversibleScheme(bb, { numClasses: 2, adapterDim: 4, dropout: 0.2, initSeed: 6 });
    perturb(s);
    const batch = tinyBatch(2, 6, vocab, 2);
    const ref = autodiffGrads(s, batch, "classify", 17);
    const dp = s.clippedGradients(batch, {
      clipNorm: Number.POSITIVE_INFINITY,
      objective: "classify",
      dropoutSeed: 17,
    });
    for (const [n, g] of ref) assertClose(n, dp.clippedSum[n]!, g);
    // A different step seed gives different masks, hence a different gradient.
    const other = s.gradients(batch, "classify", 18);
    const diff = tf.tidy(
      () => tf.max(tf.abs(tf.sub(other.grads["cls.weight"]!, ref.get("cls.weight")!))).dataSync()[0]!,
    );
    assert.ok(diff > 1e-6);
    tf.dispose([...ref.values(), ...Object.values(dp.clippedSum), ...Object.values(other.grads)]);
    disposeBatch(batch);
    s.dispose();
    bb.dispose();
  });

  // Post-LN BERT's R_i = layer(x) − x is not a small residual, so the inverse amplifies float32
  // rounding ~10× per layer (measured on this tiny BERT: 3.6e-6 at 6 layers, 2e-2 at 12): it is
  // checked at MiniLM's depth, 6.
  const depth = arch.name === "gpt2" ? 12 : 6;
  test(`reversible (${arch.name}): ${depth} layers reconstruct their inputs with relative error < 1e-4; causal pre-LN init is near the backbone`, (t) => {
    const cfg = { ...arch.config, nLayer: depth };
    const bb = arch.make(6, { nLayer: depth });
    const s = new ReversibleScheme(bb, { numClasses: 2, adapterDim: 4, dropout: 0.1, initSeed: 7 });
    perturb(s);
    const batch = tinyBatch(2, 8, cfg.vocabSize, 2);
    const bias = bb.attentionBias(batch.attentionMask);
    const tr = new Tracer(s.tracerOptions("plain", true, undefined, 3));
    const h0 = bb.embed(bb.tracer(), batch.inputIds);
    let [x1, x2] = [h0, h0];
    let top: tf.Tensor3D[] = [];
    for (let i = 0; i < cfg.nLayer; i++) {
      top = s.layer(tr, i, x1, x2, bias);
      [x1, x2] = s.next(top[0]!, top[1]!);
    }
    let [y1, y2] = top as [tf.Tensor3D, tf.Tensor3D];
    for (let i = cfg.nLayer - 1; i >= 0; i--) {
      const [a, b] = s.inverse(tr, i, y1, y2, bias);
      [y1, y2] = s.next(a, b);
    }
    const rel = (a: tf.Tensor, b: tf.Tensor) =>
      tf.tidy(() => tf.div(tf.norm(tf.sub(a, b)), tf.norm(b)).dataSync()[0]!);
    const e1 = rel(y1, h0);
    const e2 = rel(y2, h0);
    assert.ok(e1 < 1e-4 && e2 < 1e-4, `reconstruction error ${e1}, ${e2}`);
    // Init (adapters' up-projections zero) is near the backbone: the read-out stream tracks h_L.
    const fresh = new ReversibleScheme(bb, { numClasses: 2, adapterDim: 4 });
    const ptr = new Tracer(fresh.tracerOptions("plain", false));
    let [p1, p2] = [h0, h0];
    let out = h0;
    for (let i = 0; i < cfg.nLayer; i++) {
      const [o1, o2] = fresh.layer(ptr, i, p1, p2, bias);
      out = o1;
      [p1, p2] = fresh.next(o1, o2);
    }
    const hid = bb.forward(batch.inputIds, batch.attentionMask, { hidden: true });
    const dev = rel(out, hid.hidden![cfg.nLayer]!);
    t.diagnostic(
      `reconstruction error ${e1.toExponential(2)}, ${e2.toExponential(2)}; init deviates ${dev.toFixed(3)}`,
    );
    // Pre-LN: R_i is a small residual branch, so y1 tracks h_L. Post-LN BERT's R_i = layer(x) − x is
    // not small, so its leapfrog init is not near the backbone (measured, see the README).
    if (arch.name === "gpt2") assert.ok(dev < 0.05, `init deviates ${dev} from the backbone`);
    tf.dispose([bias, h0, ...hid.hidden!, hid.final]);
    fresh.dispose();
    disposeBatch(batch);
    s.dispose();
    bb.dispose();
  });

  test(`reversible (${arch.name}): single-pass clipped sum = per-example loop for clip norms clipping none, some and all`, () => {
    const bb = arch.make(8, { perturb: true });
    // No dropout: the per-example loop could not replay the batch's masks row by row.
    const s = new ReversibleScheme(bb, { numClasses: 3, adapterDim: 4, initSeed: 9 });
    perturb(s);
    const b = 5;
    const batch = tinyBatch(b, 7, vocab, 3);
    const per: Map<string, tf.Tensor>[] = [];
    const norms: number[] = [];
    for (let i = 0; i < b; i++) {
      const one = sliceBatch(batch, i);
      const g = autodiffGrads(s, one, "classify");
      per.push(g);
      let sq = 0;
      for (const t of g.values()) sq += tf.tidy(() => tf.sum(tf.square(t)).dataSync()[0]!);
      norms.push(Math.sqrt(sq));
      disposeBatch(one);
    }
    const sorted = [...norms].sort((x, y) => x - y);
    const clips = [
      sorted[0]! / 2, // every example clipped
      (sorted[1]! + sorted[2]!) / 2, // two unclipped, three clipped
      (sorted[3]! + sorted[4]!) / 2, // one clipped
      sorted[4]! * 2, // none clipped
    ];
    for (const C of clips) {
      const before = tf.memory().numTensors;
      const dp = s.clippedGradients(batch, { clipNorm: C, objective: "classify" });
      for (let i = 0; i < b; i++)
        assert.ok(Math.abs(dp.norms[i]! - norms[i]!) <= 1e-3 * norms[i]!, `C=${C} norm ${i}`);
      for (const n of s.trainable.keys()) {
        const want = tf.tidy(() => tf.addN(per.map((g, i) => tf.mul(g.get(n)!, Math.min(1, C / norms[i]!)))));
        assertClose(`C=${C} clipped ${n}`, dp.clippedSum[n]!, want);
        want.dispose();
      }
      tf.dispose(Object.values(dp.clippedSum));
      assert.equal(tf.memory().numTensors, before, "tensor leak across a DP step");
    }
    tf.dispose(per.flatMap((m) => [...m.values()]));
    disposeBatch(batch);
    s.dispose();
    bb.dispose();
  });
}
