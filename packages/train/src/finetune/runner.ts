/**
 * Single-node private fine-tuning (`memarc finetune`, and `finetune()` from code): prepare the
 * scheme, calibrate σ, run the DP-SGD driver, evaluate. A federated node's round runs the same
 * driver (trainDpSgd) through @memarc/federation's LocalTrainer.
 *
 *   q = batchSize / N                         (Poisson sampling rate; expected logical batch B)
 *   steps = round(epochs / q)                 (unless given)
 *   σ = calibrateNoiseMultiplier(ε, δ, q, steps) with the RDP accountant (unless given)
 *   trainDpSgd with the accountant and the budget (ε, δ): every noisy step charged, no step taken
 *   that would exceed the budget
 *   ε reported = the accountant's ε after the steps actually taken.
 *
 * ε = ∞ means non-private training: no noise, no clipping, no accountant (the engine divides by the
 * realised batch size instead of q·N).
 */
import type { Dataset } from "@memarc/data";
import { calibrateNoiseMultiplier, createAccountant, type PrivacyAccountant } from "@memarc/privacy";
import { DEFAULT_MAX_PHYSICAL_BATCH, trainDpSgd } from "../dp-sgd.js";
import type { TrainingRandom } from "../model.js";
import { createOptimizer, type Optimizer, type OptimizerName } from "../optimizers.js";
import { makeSchedule, type ScheduleName } from "../schedule.js";
import { secureTrainingRandom } from "../secure-random.js";
import type { FrozenPass } from "./frozen-pass.js";
import { measureDpStepPeak, type StepPeak } from "./peak.js";
import type { FinetuneScheme, FinetuneSchemeKind } from "./schemes.js";

export interface LabelledTexts {
  texts: readonly string[];
  labels: Int32Array;
}

export interface FinetuneProgress {
  phase: "prepare" | "train" | "evaluate";
  /** prepare, evaluate: examples done of total; train: step (1-based) of steps. */
  done: number;
  total: number;
  loss?: number;
  lr?: number;
  /** Examples in this step's Poisson batch. */
  batchSize?: number;
  clippedFraction?: number;
  /** ε spent so far (train phase; Infinity without DP). Computed on demand: it costs an RDP evaluation. */
  epsilon?: () => number;
}

export interface FinetuneOptions {
  scheme: FinetuneScheme;
  /** side: the engine that computes the frozen backbone's features (e.g. ONNX Runtime); default tfjs. */
  frozen?: FrozenPass;
  /** Training set and the set to report accuracy on (the test split, or a held-out part of train when tuning). */
  dataset: { train: LabelledTexts | Dataset; test?: LabelledTexts | Dataset };
  /** Target ε; Infinity = non-private. */
  epsilon: number;
  delta: number;
  epochs: number;
  /** Expected logical batch size B (q = B/N). */
  batchSize: number;
  /** Largest micro-batch through the backward at once (bounds memory). Default min(B, 32). */
  maxPhysicalBatch?: number;
  lr: number;
  optimizer: OptimizerName | (() => Optimizer);
  schedule?: ScheduleName;
  warmupSteps?: number;
  /** Clipping norm C (ignored, i.e. no clipping, when ε = ∞). */
  clipNorm: number;
  contextLength: number;
  /** Override the step count implied by `epochs`. */
  steps?: number;
  /** Use this σ instead of calibrating (e.g. chosen by a coordinator); the budget stop still applies. */
  noiseMultiplier?: number;
  /** An accountant that already holds earlier spending (e.g. previous federated rounds). Default: fresh RDP. */
  accountant?: PrivacyAccountant;
  /** Default: CSPRNG (node:crypto). Seeded generators only in tests. */
  random?: TrainingRandom;
  /** Transformer schemes: worker threads per DP step (BindOptions.threads; default 1). */
  threads?: number;
  /** side: reuse frozen-backbone features across runs from this directory (see BindOptions). */
  featureCacheDir?: string;
  /** Measure peakBytes before training (default true). */
  measureMemory?: boolean;
  onProgress?: (p: FinetuneProgress) => void;
}

export interface FinetuneResult {
  scheme: FinetuneSchemeKind;
  /** ε actually spent, from the accountant (Infinity without DP). */
  epsilon: number;
  targetEpsilon: number;
  delta: number;
  noiseMultiplier: number;
  sampleRate: number;
  /** Steps taken. */
  steps: number;
  plannedSteps: number;
  stoppedByBudget: boolean;
  /** Accuracy on `dataset.test` (NaN when no test set was given). */
  testAccuracy: number;
  testLoss: number;
  /** See measureDpStepPeak: engine bytes above the start of one DP step on one physical micro-batch. */
  peakBytes: number;
  peakBatch: number;
  /** Examples per second during the DP-SGD loop (not counting preparation or evaluation). */
  examplesPerSecond: number;
  /** Whole run: preparation (tokenize, feature cache), memory probe, training, evaluation. */
  wallSeconds: number;
  prepareSeconds: number;
  trainSeconds: number;
  evalSeconds: number;
  examplesProcessed: number;
  trainExamples: number;
  testExamples: number;
  trainableParams: number;
  clipNorm: number;
  batchSize: number;
  epochs: number;
  lr: number;
  optimizer: string;
  contextLength: number;
  finalLoss: number;
}

function validate(o: FinetuneOptions, n: number): void {
  const bad = (m: string) => {
    throw new RangeError(m);
  };
  if (!(o.epsilon > 0)) bad(`epsilon must be > 0 (or Infinity), got ${o.epsilon}`);
  if (Number.isFinite(o.epsilon) && !(o.delta > 0 && o.delta < 1))
    bad(`delta must be in (0, 1), got ${o.delta}`);
  if (!(o.epochs > 0) || !Number.isFinite(o.epochs)) bad(`epochs must be > 0, got ${o.epochs}`);
  if (!Number.isSafeInteger(o.batchSize) || o.batchSize < 1) bad(`batchSize must be a positive integer`);
  if (o.batchSize > n) bad(`batchSize ${o.batchSize} exceeds the ${n} training examples`);
  if (!(o.lr > 0)) bad(`lr must be > 0, got ${o.lr}`);
  if (Number.isFinite(o.epsilon) && !(o.clipNorm > 0 && Number.isFinite(o.clipNorm)))
    bad(`clipNorm must be a finite number > 0 under DP, got ${o.clipNorm}`);
  if (o.noiseMultiplier !== undefined && !(o.noiseMultiplier > 0 && Number.isFinite(o.noiseMultiplier)))
    bad(`noiseMultiplier must be a finite number > 0, got ${o.noiseMultiplier}`);
}

export async function runFinetune(o: FinetuneOptions): Promise<FinetuneResult> {
  const t0 = performance.now();
  const train = o.dataset.train;
  const n = train.labels.length;
  validate(o, n);
  const priv = Number.isFinite(o.epsilon);
  const q = o.batchSize / n;
  const plannedSteps = o.steps ?? Math.max(1, Math.round(o.epochs / q));
  const sigma = priv
    ? (o.noiseMultiplier ??
      calibrateNoiseMultiplier({
        targetEpsilon: o.epsilon,
        delta: o.delta,
        sampleRate: q,
        steps: plannedSteps,
        accountant: "rdp",
      }).noiseMultiplier)
    : 0;
  const clipNorm = priv ? o.clipNorm : Number.POSITIVE_INFINITY;
  const random = o.random ?? secureTrainingRandom();
  const makeOptimizer =
    typeof o.optimizer === "function" ? o.optimizer : () => createOptimizer(o.optimizer as OptimizerName);
  const maxPhysicalBatch = o.maxPhysicalBatch ?? Math.min(o.batchSize, DEFAULT_MAX_PHYSICAL_BATCH);
  const bindOpts = {
    contextLength: o.contextLength,
    featureCacheDir: o.featureCacheDir,
    onPrepare: (done: number, total: number) => o.onProgress?.({ phase: "prepare", done, total }),
    ...(o.frozen ? { frozen: o.frozen } : {}),
    ...(o.threads ? { threads: o.threads } : {}),
  };

  // 1. Preparation: tokenize / hash, and for side the frozen backbone's features (once).
  await o.scheme.prepare(train.texts, train.labels, bindOpts);
  const model = o.scheme.bind(train.texts, train.labels, bindOpts);
  const tPrepared = performance.now();

  // 2. Memory of one representative DP step (scratch copies: no update, nothing released).
  let peak: StepPeak = { peakBytes: Number.NaN, wallMs: Number.NaN, examples: 0, leakedTensors: 0 };
  if (o.measureMemory ?? true) {
    peak = await measureDpStepPeak(model, n, {
      physicalBatch: Math.min(o.batchSize, maxPhysicalBatch),
      clipNorm,
      noiseMultiplier: sigma,
      expectedBatch: priv ? q * n : o.batchSize,
      lr: o.lr,
      makeOptimizer,
      random,
    });
  }

  // 3. DP-SGD with the accountant hook and the budget stop.
  const accountant = priv ? (o.accountant ?? createAccountant("rdp")) : null;
  const budget = { epsilon: o.epsilon, delta: o.delta };
  const optimizer = makeOptimizer();
  const schedule = makeSchedule(o.schedule ?? "constant", o.lr, plannedSteps, o.warmupSteps ?? 0);
  let finalLoss = Number.NaN;
  const epsilonNow = () => (accountant ? accountant.getEpsilon(o.delta) : Number.POSITIVE_INFINITY);
  const tTrain = performance.now();
  const r = await trainDpSgd({
    model,
    config: {
      datasetSize: n,
      sampleRate: q,
      noiseMultiplier: sigma,
      clipNorm,
      maxPhysicalBatch,
      steps: plannedSteps,
    },
    optimizer,
    schedule,
    random,
    accountant,
    budget,
    onStep: (s) => {
      if (Number.isFinite(s.loss)) finalLoss = s.loss;
      o.onProgress?.({
        phase: "train",
        done: s.step + 1,
        total: plannedSteps,
        loss: s.loss,
        lr: s.lr,
        batchSize: s.batchSize,
        clippedFraction: s.clippedFraction,
        epsilon: epsilonNow,
      });
    },
  });
  const trainSeconds = (performance.now() - tTrain) / 1000;
  optimizer.dispose();

  // 4. Evaluation.
  const tEval = performance.now();
  const test = o.dataset.test;
  if (test) await o.scheme.prepare(test.texts, test.labels, bindOpts);
  const evalOpts = {
    ...bindOpts,
    onEvaluate: (done: number, total: number) => o.onProgress?.({ phase: "evaluate", done, total }),
  };
  const ev = test
    ? await o.scheme.evaluate(test.texts, test.labels, evalOpts)
    : { accuracy: Number.NaN, loss: Number.NaN };
  const evalSeconds = (performance.now() - tEval) / 1000;
  return {
    scheme: o.scheme.kind,
    epsilon: epsilonNow(),
    targetEpsilon: o.epsilon,
    delta: o.delta,
    noiseMultiplier: sigma,
    sampleRate: q,
    steps: r.stepsTaken,
    plannedSteps,
    stoppedByBudget: r.stoppedByBudget,
    testAccuracy: ev.accuracy,
    testLoss: ev.loss,
    peakBytes: peak.peakBytes,
    peakBatch: peak.examples,
    examplesPerSecond: r.seconds > 0 ? r.examplesProcessed / r.seconds : 0,
    wallSeconds: (performance.now() - t0) / 1000,
    prepareSeconds: (tPrepared - t0) / 1000,
    trainSeconds,
    evalSeconds,
    examplesProcessed: r.examplesProcessed,
    trainExamples: n,
    testExamples: test?.labels.length ?? 0,
    trainableParams: o.scheme.trainableParamCount(),
    clipNorm,
    batchSize: o.batchSize,
    epochs: o.epochs,
    lr: o.lr,
    optimizer: optimizer.name,
    contextLength: o.contextLength,
    finalLoss,
  };
}
