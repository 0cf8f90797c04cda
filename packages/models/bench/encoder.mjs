#!/usr/bin/env node
// Encoder speed on this machine: prints one JSON object. Run after `npx tsc -b packages/models`:
//   node packages/models/bench/encoder.mjs [--batch 32] [--context 64] [--runs 3]
// Measures, for the bundled all-MiniLM-L6-v2 on the default backend (wasm here, one thread):
// the inference forward (tokens/s, every position a real token), and one side DP step
// (clippedGradients at C = 1 with the frozen features precomputed, as the trainer runs it).
// Median of `runs` after one warm-up. Never run inside unit tests.
import { parseArgs } from "node:util";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import { bundledEncoderDir, disposeSideFeatures, loadBackboneModel, SideScheme } from "../dist/index.js";

const { values } = parseArgs({
  options: {
    batch: { type: "string", default: "32" },
    context: { type: "string", default: "64" },
    runs: { type: "string", default: "3" },
  },
});
const B = Number(values.batch);
const T = Number(values.context);
const runs = Number(values.runs);

const info = await initBackend({ log: null });
const bb = await loadBackboneModel(bundledEncoderDir());
const V = bb.config.vocabSize;
// Ordinary word-piece ids (past the [unused…] and special rows), deterministic.
const ids = tf.tensor2d(
  Array.from({ length: B * T }, (_, i) => 1996 + ((i * 7919) % (V - 1996))),
  [B, T],
  "int32",
);
const mask = tf.ones([B, T]);
const labels = tf.tensor1d(
  Array.from({ length: B }, (_, i) => i % 2),
  "int32",
);

function median(f) {
  f(); // warm-up: kernels compiled, buffers allocated
  const ms = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    f();
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

const forwardMs = median(() => {
  const { final } = bb.forward(ids, mask);
  final.dataSync(); // wait for the result
  final.dispose();
});

const side = new SideScheme(bb, { numClasses: 2, reduction: 8 });
const featureMs = median(() =>
  disposeSideFeatures(side.sideFeatures({ inputIds: ids, attentionMask: mask })),
);
const features = side.sideFeatures({ inputIds: ids, attentionMask: mask });
const batch = { inputIds: ids, attentionMask: mask, labels, features };
const before = tf.memory().numTensors;
const stepMs = median(() => {
  const r = side.clippedGradients(batch, { clipNorm: 1, objective: "classify" });
  tf.dispose(Object.values(r.clippedSum));
});
const leaked = tf.memory().numTensors - before;

console.log(
  JSON.stringify({
    backend: info.name,
    model: "all-MiniLM-L6-v2",
    batch: B,
    context: T,
    runs,
    forward: { ms: Math.round(forwardMs), tokensPerSecond: Math.round((B * T * 1000) / forwardMs) },
    side: {
      reduction: 8,
      trainableParams: side.trainableParamCount(),
      featureMs: Math.round(featureMs),
      dpStepMs: Math.round(stepMs),
      leakedTensors: leaked,
    },
  }),
);
disposeSideFeatures(features);
side.dispose();
bb.dispose();
