/**
 * Pretraining of the bundled backbone: a byte-level BPE vocabulary and a small GPT-2 language model
 * learned from public text (State of the Union addresses + Moby Dick). No privacy is involved: the
 * corpus is public. The result ships in the repository so fine-tuning never has to pretrain.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadPretrainCorpus } from "@memarc/data/node";
import { FullScheme, GPT2, type GPT2Config } from "@memarc/models";
import { loadGPT2, saveGPT2 } from "@memarc/models/node";
import { type BpeTokenizer, trainBpe } from "@memarc/tokenizer";
import { saveBpe } from "@memarc/tokenizer/node";
import * as tf from "@tensorflow/tfjs";
import { Adam } from "../optimizers.js";
import { makeSchedule } from "../schedule.js";
import { type TokenWindows, tokenWindows } from "./windows.js";

export interface PretrainOptions {
  vocabSize: number;
  model: Omit<GPT2Config, "vocabSize">;
  steps: number;
  batchSize: number;
  learningRate: number;
  warmupSteps: number;
  seed: number;
  /** Held-out windows used for the recorded perplexity (a fixed prefix, so tests can reproduce it). */
  evalWindows: number;
  evalEvery: number;
  outDir: string;
  onProgress?: (p: {
    step: number;
    steps: number;
    loss: number;
    lr: number;
    heldOutPerplexity?: number;
  }) => void;
}

export interface PretrainRecord {
  config: GPT2Config;
  vocabSize: number;
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  trainTokens: number;
  heldOutTokens: number;
  evalWindows: number;
  /** exp(mean next-token NLL) over the first `evalWindows` held-out windows, measured after reloading the saved (F16) weights. */
  heldOutPerplexity: number;
  finalTrainLoss: number;
  seconds: number;
  corpus: string;
}

/** Deterministic window order (not privacy-relevant): xorshift32 Fisher–Yates. */
function shuffled(n: number, seed: number): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export function batchOf(
  w: TokenWindows,
  rows: ArrayLike<number>,
): { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D } {
  const ids = new Int32Array(rows.length * w.length);
  for (let r = 0; r < rows.length; r++)
    ids.set(w.ids.subarray(rows[r]! * w.length, (rows[r]! + 1) * w.length), r * w.length);
  return {
    inputIds: tf.tensor2d(ids, [rows.length, w.length], "int32"),
    attentionMask: tf.ones([rows.length, w.length]) as tf.Tensor2D,
  };
}

/** exp(mean NLL) of a model over the first `count` windows (all windows are full, so a plain mean). */
export function perplexity(
  lossOf: (b: { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D }) => tf.Tensor1D,
  w: TokenWindows,
  count: number,
  batch = 16,
): number {
  const n = Math.min(count, w.count);
  let sum = 0;
  for (let s = 0; s < n; s += batch) {
    const rows = Array.from({ length: Math.min(batch, n - s) }, (_, i) => s + i);
    const b = batchOf(w, rows);
    const l = lossOf(b);
    sum += (l.dataSync() as Float32Array).reduce((a, v) => a + v, 0);
    tf.dispose([l, b.inputIds, b.attentionMask]);
  }
  return Math.exp(sum / n);
}

export async function pretrain(o: PretrainOptions): Promise<PretrainRecord> {
  const t0 = performance.now();
  const corpus = loadPretrainCorpus();
  const tokenizer: BpeTokenizer = trainBpe(corpus.train, { vocabSize: o.vocabSize });
  const config: GPT2Config = { ...o.model, vocabSize: tokenizer.vocabSize };
  const length = config.nPositions;
  const train = tokenWindows(tokenizer, corpus.train, length);
  const heldOut = tokenWindows(tokenizer, corpus.heldOut, length);
  if (heldOut.count < 1) throw new RangeError("held-out corpus is shorter than one window");

  const backbone = GPT2.random(config, o.seed);
  const scheme = new FullScheme(backbone, { numClasses: 2, initSeed: o.seed });
  // The classifier head is not part of a language model: train only the backbone weights.
  const params = new Map([...scheme.trainable].filter(([k]) => !k.startsWith("cls.")));
  const optimizer = new Adam({ weightDecay: 0.01 });
  const schedule = makeSchedule("cosine", o.learningRate, o.steps, o.warmupSteps);
  const order = shuffled(train.count, o.seed);
  let cursor = 0;
  let lastLoss = Number.NaN;
  const evalPpl = () => perplexity((b) => scheme.perExampleLoss(b, "lm"), heldOut, o.evalWindows);

  for (let step = 0; step < o.steps; step++) {
    if (cursor + o.batchSize > order.length) cursor = 0;
    const b = batchOf(train, order.subarray(cursor, cursor + o.batchSize));
    cursor += o.batchSize;
    const g = scheme.gradients(b, "lm");
    const grads = new Map<string, tf.Tensor>();
    for (const [k, t] of Object.entries(g.grads)) {
      if (params.has(k)) grads.set(k, tf.div(t, o.batchSize));
      t.dispose();
    }
    const lr = schedule(step);
    optimizer.step(params, grads, lr);
    tf.dispose([...grads.values(), b.inputIds, b.attentionMask]);
    lastLoss = g.loss;
    const evalNow = o.evalEvery > 0 && (step + 1) % o.evalEvery === 0 && step + 1 < o.steps;
    o.onProgress?.({
      step: step + 1,
      steps: o.steps,
      loss: g.loss,
      lr,
      heldOutPerplexity: evalNow ? evalPpl() : undefined,
    });
  }
  optimizer.dispose();

  // Save the learned backbone (trainable copies) in Hugging Face layout, F16 to keep the repo small.
  mkdirSync(o.outDir, { recursive: true });
  const learned = new GPT2(config, new Map([...params].map(([k, v]) => [k, v as tf.Tensor])));
  await saveGPT2(learned, o.outDir, "F16");
  saveBpe(tokenizer, o.outDir);
  scheme.dispose();
  tf.dispose([...backbone.params.values()]);

  // The recorded perplexity is that of the shipped file, measured after reloading it.
  const reloaded = await loadGPT2(o.outDir);
  const evalScheme = new FullScheme(reloaded, { numClasses: 2 });
  const ppl = perplexity((b) => evalScheme.perExampleLoss(b, "lm"), heldOut, o.evalWindows);
  evalScheme.dispose();
  tf.dispose([...reloaded.params.values()]);

  const record: PretrainRecord = {
    config,
    vocabSize: tokenizer.vocabSize,
    steps: o.steps,
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    seed: o.seed,
    trainTokens: train.tokens,
    heldOutTokens: heldOut.tokens,
    evalWindows: Math.min(o.evalWindows, heldOut.count),
    heldOutPerplexity: ppl,
    finalTrainLoss: lastLoss,
    seconds: (performance.now() - t0) / 1000,
    corpus: corpus.name,
  };
  writeFileSync(join(o.outDir, "pretrain.json"), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}
