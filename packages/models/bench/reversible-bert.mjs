#!/usr/bin/env node
// How the reversible couplings behave on a post-LN encoder: prints one JSON object. Run after
// `npx tsc -b packages/models`:   node packages/models/bench/reversible-bert.mjs
// For the bundled all-MiniLM-L6-v2 (B 2, T 16, one padded row) and each coupling:
// - initDeviation: ‖y1_L − h_L‖/‖h_L‖ at init (adapters' up-projections zero): how far the
//   reversible network starts from the pretrained encoder's last hidden state;
// - reconstruction: ‖x̂ − h_0‖/‖h_0‖ for both streams after inverting all layers (adapters moved off
//   their init by N(0, 0.05), as the unit tests do);
// - gradient: max over parameters of max|DP(C = ∞) − autodiff| / max|autodiff| (same adapters).
// Diagnostics, not a test: the exactness tests run on small models in src/schemes/reversible.test.ts.
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { bundledEncoderDir, loadBackboneModel, ReversibleScheme, Tracer } from "../dist/index.js";

await initBackend({ log: null });
const bb = await loadBackboneModel(bundledEncoderDir());
const B = 2;
const T = 16;
const ids = tf.tensor2d(
  Array.from({ length: B * T }, (_, i) => 1996 + ((i * 7919) % 28000)),
  [B, T],
  "int32",
);
const mask = tf.tensor2d(
  Array.from({ length: B * T }, (_, i) => (i < T || i % T < 9 ? 1 : 0)),
  [B, T],
);
const labels = tf.tensor1d([0, 1], "int32");
const batch = { inputIds: ids, attentionMask: mask, labels };
const bias = bb.attentionBias(mask);
const rel = (a, b) => tf.tidy(() => tf.div(tf.norm(tf.sub(a, b)), tf.norm(b)).dataSync()[0]);
const hL = bb.forward(ids, mask, { hidden: true }).hidden[bb.config.nLayer];

function top(s, tr) {
  const h0 = bb.embed(tr, ids);
  let [x1, x2] = [h0, h0];
  let out = [h0, h0];
  for (let i = 0; i < bb.config.nLayer; i++) {
    out = s.layer(tr, i, x1, x2, bias);
    [x1, x2] = s.next(out[0], out[1]);
  }
  return { h0, out };
}

const result = {};
for (const coupling of ["leapfrog", "meft1"]) {
  const s = new ReversibleScheme(bb, { numClasses: 2, adapterDim: 16, initSeed: 7, coupling });
  const initDeviation = rel(top(s, new Tracer(s.tracerOptions("plain", false))).out[0], hL);
  for (const [, v] of s.trainable) v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.05, "float32", v.size)));
  const tr = new Tracer(s.tracerOptions("plain", false));
  const { h0, out } = top(s, tr);
  let [y1, y2] = out;
  for (let i = bb.config.nLayer - 1; i >= 0; i--) [y1, y2] = s.next(...s.inverse(tr, i, y1, y2, bias));
  const names = [...s.trainable.keys()];
  const auto = tf.grads((...xs) =>
    tf.sum(s.lossWithParams(new Map(names.map((n, i) => [n, xs[i]])), batch, "classify")),
  )(names.map((n) => s.trainable.get(n)));
  const dp = s.clippedGradients(batch, { clipNorm: Number.POSITIVE_INFINITY, objective: "classify" });
  let gradient = 0;
  names.forEach((n, i) => {
    const d = tf.tidy(
      () =>
        tf.max(tf.abs(tf.sub(dp.clippedSum[n], auto[i]))).dataSync()[0] /
        tf.max(tf.abs(auto[i])).dataSync()[0],
    );
    gradient = Math.max(gradient, d);
  });
  result[coupling] = {
    initDeviation: Number(initDeviation.toPrecision(3)),
    reconstruction: [rel(y1, h0), rel(y2, h0)].map((x) => Number(x.toPrecision(3))),
    gradient: Number(gradient.toPrecision(3)),
  };
  s.dispose();
}
console.log(JSON.stringify({ model: "all-MiniLM-L6-v2", batch: B, context: T, ...result }));
