/**
 * The shipped backbone (packages/models/assets/backbone) loads with its tokenizer and reaches the
 * held-out perplexity recorded in its pretrain.json, recomputed here from scratch on the same
 * held-out windows. Skips only while the asset does not exist yet (it is produced by
 * `memarc pretrain --out packages/models/assets/backbone`); once the directory exists it must pass.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { loadPretrainCorpus } from "@memarc/data/node";
import { FullScheme } from "@memarc/models";
import { bundledBackboneDir, bundledBackbonePath } from "@memarc/models/node";
import { initBackend } from "@memarc/tensor";
import { BpeTokenizer } from "@memarc/tokenizer";
import { loadBackbone } from "../node/backbone-dir.js";
import { type PretrainRecord, perplexity } from "../pretrain/pretrain.js";
import { tokenWindows } from "../pretrain/windows.js";

before(async () => {
  await initBackend({ log: null });
});

const dir = bundledBackbonePath();
const missing = !existsSync(dir);

test("bundled backbone reaches its recorded held-out perplexity (within 1%)", {
  skip: missing ? `bundled backbone not built yet: ${dir} does not exist (run memarc pretrain)` : false,
}, async () => {
  const checked = bundledBackboneDir(); // throws, naming the missing files, if incomplete
  const recordPath = join(checked, "pretrain.json");
  assert.ok(existsSync(recordPath), `${recordPath} is missing`);
  const record = JSON.parse(readFileSync(recordPath, "utf8")) as PretrainRecord;
  const backbone = await loadBackbone(checked);
  assert.equal(backbone.model.architecture, "gpt2");
  assert.ok(backbone.tokenizer instanceof BpeTokenizer);
  assert.deepEqual(backbone.model.config, record.config);
  assert.equal(backbone.tokenizer.vocabSize, record.vocabSize);
  const heldOut = tokenWindows(backbone.tokenizer, loadPretrainCorpus().heldOut, record.config.nPositions);
  assert.equal(heldOut.tokens, record.heldOutTokens);
  const scheme = new FullScheme(backbone.model, { numClasses: 2 });
  const ppl = perplexity((b) => scheme.perExampleLoss(b, "lm"), heldOut, record.evalWindows);
  scheme.dispose();
  backbone.model.dispose();
  const rel = Math.abs(ppl - record.heldOutPerplexity) / record.heldOutPerplexity;
  assert.ok(
    rel <= 0.01,
    `perplexity ${ppl} vs recorded ${record.heldOutPerplexity} (${(rel * 100).toFixed(2)}% off)`,
  );
  // A trained LM must beat the uniform distribution over its vocabulary by a wide margin.
  assert.ok(ppl < record.vocabSize / 4, `perplexity ${ppl} is not far below uniform (${record.vocabSize})`);
});
