// How much do the frozen backbone's states say about spam? Non-private logistic regression on
// standardised, pooled hidden states read from the side feature cache (train → test). Run a side
// finetune with --feature-cache DIR --context 128 first so the cache exists.
//
//   node scripts/experiments/linear-probe.mjs [FEATURE_CACHE_DIR]
import { closeSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { getSpamAssassin } from "@memarc/data";
import { bundledBackboneDir } from "@memarc/models";
import { featureCacheKey, loadBackbone, tokenizeDataset } from "@memarc/train";

const cacheDir = process.argv[2] ?? ".memarc-cache/features";
const T = 128;
const data = getSpamAssassin();
const backbone = await loadBackbone(bundledBackboneDir());
const config = backbone.model.config;
const D = config.nEmbd;
const L = config.nLayer + 1;

/** Per example: mean over real tokens of h_0..h_L, then max over real tokens of h_0..h_L. */
function pooledFeatures(split) {
  const tokens = tokenizeDataset(backbone.tokenizer, split.texts, split.labels, T);
  const key = featureCacheKey(join(backbone.dir, "model.safetensors"), config, tokens);
  const fd = openSync(join(cacheDir, `side-${key}.f32`), "r");
  const perExample = L * T * D;
  const buf = new Float32Array(perExample);
  const dim = 2 * L * D;
  const x = new Float64Array(tokens.count * dim);
  for (let i = 0; i < tokens.count; i++) {
    readSync(fd, new Uint8Array(buf.buffer), 0, perExample * 4, i * perExample * 4);
    const n = tokens.lengths[i];
    for (let l = 0; l < L; l++) {
      for (let j = 0; j < D; j++) {
        let sum = 0;
        let max = Number.NEGATIVE_INFINITY;
        for (let t = 0; t < n; t++) {
          const v = buf[l * T * D + t * D + j];
          sum += v;
          if (v > max) max = v;
        }
        x[i * dim + l * D + j] = sum / n;
        x[i * dim + L * D + l * D + j] = max;
      }
    }
  }
  closeSync(fd);
  return { x, y: tokens.labels, n: tokens.count, dim };
}

function probe(train, test, columns, name) {
  const k = columns.length;
  const mu = new Float64Array(k);
  const sd = new Float64Array(k);
  for (let i = 0; i < train.n; i++)
    for (const [j, c] of columns.entries()) mu[j] += train.x[i * train.dim + c];
  for (let j = 0; j < k; j++) mu[j] /= train.n;
  for (let i = 0; i < train.n; i++)
    for (const [j, c] of columns.entries()) sd[j] += (train.x[i * train.dim + c] - mu[j]) ** 2;
  for (let j = 0; j < k; j++) sd[j] = Math.sqrt(sd[j] / train.n) + 1e-6;
  const rows = (s) =>
    Array.from({ length: s.n }, (_, i) => columns.map((c, j) => (s.x[i * s.dim + c] - mu[j]) / sd[j]));
  const xTrain = rows(train);
  const xTest = rows(test);
  const w = new Float64Array(k);
  let b = 0;
  const logit = (r) => r.reduce((z, v, j) => z + w[j] * v, b);
  for (let epoch = 0; epoch < 60; epoch++) {
    const lr = 0.05 / Math.sqrt(1 + epoch);
    for (const [i, r] of xTrain.entries()) {
      const g = 1 / (1 + Math.exp(-logit(r))) - train.y[i];
      for (let j = 0; j < k; j++) w[j] -= lr * (g * r[j] + 1e-3 * w[j]);
      b -= lr * g;
    }
  }
  const accuracy = (xs, y) => xs.filter((r, i) => (logit(r) > 0 ? 1 : 0) === y[i]).length / xs.length;
  console.log(
    JSON.stringify({
      probe: name,
      features: k,
      trainAccuracy: accuracy(xTrain, train.y),
      testAccuracy: accuracy(xTest, test.y),
    }),
  );
}

const train = pooledFeatures(data.train);
const test = pooledFeatures(data.test);
const range = (start, n) => Array.from({ length: n }, (_, i) => start + i);
probe(train, test, range(0, D), "mean h_0 (embeddings)");
probe(train, test, range(config.nLayer * D, D), "mean h_L");
probe(train, test, range(0, L * D), "mean h_0..h_L");
probe(train, test, range(0, 2 * L * D), "mean+max h_0..h_L");
