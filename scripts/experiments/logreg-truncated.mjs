// What does truncating an e-mail to its first n BPE tokens cost the bag-of-words baseline? Decodes
// each text back from its first n tokens and trains the DP logistic regression on it (train → test).
//
//   node scripts/experiments/logreg-truncated.mjs
import { getSpamAssassin } from "@memarc/data";
import { bundledBackboneDir } from "@memarc/models";
import { initBackend } from "@memarc/tensor";
import { createScheme, loadBackbone, runFinetune } from "@memarc/train";

await initBackend("wasm");
const data = getSpamAssassin();
const { tokenizer } = await loadBackbone(bundledBackboneDir());
const truncate = (texts, n) => texts.map((t) => tokenizer.decode(tokenizer.encode(t).slice(0, n)));

for (const n of [64, 128, 256, Number.POSITIVE_INFINITY]) {
  const train = { texts: truncate(data.train.texts, n), labels: data.train.labels };
  const test = { texts: truncate(data.test.texts, n), labels: data.test.labels };
  for (const epsilon of [Number.POSITIVE_INFINITY, 8]) {
    const scheme = createScheme("logreg", null, { numClasses: 2 });
    const r = await runFinetune({
      scheme,
      dataset: { train, test },
      epsilon,
      delta: 1e-5,
      epochs: 10,
      batchSize: 512,
      lr: 0.05,
      optimizer: "adam",
      clipNorm: 1,
      contextLength: 128,
      measureMemory: false,
    });
    console.log(
      JSON.stringify({ tokens: Number.isFinite(n) ? n : "all", epsilon, testAccuracy: r.testAccuracy }),
    );
  }
}
