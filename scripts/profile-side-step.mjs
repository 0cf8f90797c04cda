#!/usr/bin/env node
import * as tf from "@tensorflow/tfjs";
// Per-kernel profile of one side DP step on the bundled encoder (the numbers behind
// docs/performance.md). Dev tool, after `npm run build`: node scripts/profile-side-step.mjs [B]
// Prints wall and kernel time, kernels by total time, the batched products by shape, and a 512³
// matMul measured in the same run. `memarc bench step --model DIR --profile` reports the same
// per-kernel table through the engine.
import { SideScheme } from "../packages/models/dist/index.js";
import { bundledEncoderDir, loadBackboneModel } from "../packages/models/dist/node/index.js";
import { initBackend, kernelCounters } from "../packages/tensor/dist/index.js";

const B = Number(process.argv[2] ?? 32),
  T = 64;
await initBackend({ log: null });
const bb = await loadBackboneModel(bundledEncoderDir());
const V = bb.config.vocabSize;
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
const side = new SideScheme(bb, { numClasses: 2, reduction: 8 });
const features = side.sideFeatures({ inputIds: ids, attentionMask: mask });
const batch = { inputIds: ids, attentionMask: mask, labels, features };
const step = () => {
  const r = side.clippedGradients(batch, { clipNorm: 1, objective: "classify" });
  tf.dispose(Object.values(r.clippedSum));
};
step();
let t0 = performance.now();
step();
const wall = performance.now() - t0;
const before = kernelCounters();
const prof = await tf.profile(step);
const after = kernelCounters();
const by = new Map();
for (const k of prof.kernels) {
  const e = by.get(k.name) ?? { ms: 0, n: 0 };
  e.ms += k.kernelTimeMs;
  e.n++;
  by.set(k.name, e);
}
const total = [...by.values()].reduce((s, e) => s + e.ms, 0);
console.log(
  JSON.stringify({ B, wallMs: Math.round(wall), kernelMs: Math.round(total), kernels: prof.kernels.length }),
);
// MemArc's own kernels are not tfjs kernels: their calls are counted separately.
for (const g of ["small-gemm", "fused", "f16"])
  by.set(`${g} (MemArc wasm kernel)`, {
    ms: after[g].ms - before[g].ms,
    n: after[g].calls - before[g].calls,
  });
for (const [k, e] of [...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20))
  console.log(k.padEnd(24), e.ms.toFixed(1).padStart(8), String(e.n).padStart(6));
// matmul ceiling
const a = tf.randomNormal([512, 512]),
  b2 = tf.randomNormal([512, 512]);
tf.matMul(a, b2).dataSync();
t0 = performance.now();
for (let i = 0; i < 10; i++) tf.matMul(a, b2).dataSync();
const mm = (performance.now() - t0) / 10;
console.log("matmul 512^3 GFLOP/s", ((2 * 512 ** 3) / mm / 1e6).toFixed(1));
const shapes = new Map();
for (const k of prof.kernels) {
  if (k.name !== "BatchMatMul") continue;
  const key = JSON.stringify(k.inputShapes);
  const e = shapes.get(key) ?? { ms: 0, n: 0 };
  e.ms += k.kernelTimeMs;
  e.n++;
  shapes.set(key, e);
}
for (const [k, e] of [...shapes].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25))
  console.log(e.ms.toFixed(1).padStart(8), String(e.n).padStart(4), k);
