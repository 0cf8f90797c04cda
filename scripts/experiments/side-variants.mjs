// Research loop behind docs/results.md ("Second round of experiments"): trains each configuration of a
// JSON list with runFinetune on a stratified 20 % hold-out of the SpamAssassin TRAIN split (or, with
// "final": true, on train → test), reusing the frozen-backbone feature cache on disk between runs.
//
//   node scripts/experiments/side-variants.mjs configs.json results.jsonl
//   configs.json: [{"scheme":"side","reduction":8,"epsilon":8,"epochs":3,"batchSize":256,"lr":0.03}, …]
//   env: FC = feature-cache directory (default .memarc-cache/features), BB = backbone directory.
import { appendFileSync, readFileSync } from "node:fs";
import { getSpamAssassin } from "@memarc/data";
import { bundledBackboneDir } from "@memarc/models";
import { initBackend } from "@memarc/tensor";
import { createScheme, holdoutSplit, loadBackbone, runFinetune } from "@memarc/train";

const [configFile, outFile] = process.argv.slice(2);
if (!configFile || !outFile) {
  console.error("usage: node side-variants.mjs CONFIGS.json OUT.jsonl");
  process.exit(2);
}
await initBackend("wasm");
const configs = JSON.parse(readFileSync(configFile, "utf8"));
const data = getSpamAssassin();
const backbone = await loadBackbone(process.env.BB ?? bundledBackboneDir());
const train = { texts: data.train.texts, labels: data.train.labels };
const tuning = holdoutSplit(train, 0.2);

for (const c of configs) {
  const dataset = c.final
    ? { train, test: { texts: data.test.texts, labels: data.test.labels } }
    : { train: tuning.train, test: tuning.holdout };
  const scheme = createScheme(c.scheme, backbone, { numClasses: 2, reduction: c.reduction });
  const r = await runFinetune({
    scheme,
    dataset,
    epsilon: c.epsilon ?? Number.POSITIVE_INFINITY,
    delta: 1e-5,
    epochs: c.epochs ?? 3,
    batchSize: c.batchSize ?? 256,
    lr: c.lr ?? 0.03,
    optimizer: c.optimizer ?? "adam",
    clipNorm: c.clipNorm ?? 1,
    contextLength: c.context ?? 128,
    featureCacheDir: process.env.FC ?? ".memarc-cache/features",
    measureMemory: false,
  });
  const record = {
    ...c,
    accuracy: r.testAccuracy,
    epsilonSpent: Number.isFinite(r.epsilon) ? r.epsilon : null,
    sigma: r.noiseMultiplier,
    steps: r.steps,
    finalLoss: r.finalLoss,
    trainSeconds: r.trainSeconds,
  };
  console.log(JSON.stringify(record));
  appendFileSync(outFile, `${JSON.stringify(record)}\n`);
  scheme.dispose();
}
