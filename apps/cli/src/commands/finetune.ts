/**
 * `memarc finetune`: single-node differentially private fine-tuning of a classifier on a built-in
 * dataset, through the same runner a federated client uses (@memarc/train runFinetune).
 */
import { resolve } from "node:path";
import { datasetNames } from "@memarc/data/node";
import { bundledEncoderDir } from "@memarc/models/node";
import { initBackend } from "@memarc/tensor";
import {
  type Backbone,
  createScheme,
  describePresetField,
  FINETUNE_SCHEMES,
  type FinetuneResult,
  holdoutSplit,
  type LabelledTexts,
  OPTIMIZERS,
  presetFor,
  runFinetune,
  SCHEDULES,
  subsample,
} from "@memarc/train";
import { loadBackbone, saveModelDir } from "@memarc/train/node";
import type { Command } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";
import { frozenEngineFor } from "../cli/frozen.js";
import { LABELLED_DATA_OPTIONS, readTrainTestData } from "../cli/labelled-data.js";
import { formatSeconds, rateReporter } from "../cli/rate.js";
import { dpThreadsFor, THREADS_OPTION } from "../cli/threads.js";

/** JSON has no Infinity: ε = ∞ is reported as null (with "private": false). */
const finite = (x: number) => (Number.isFinite(x) ? x : null);

export const finetuneCommand: Command = {
  name: "finetune",
  summary: "differentially private fine-tuning of a text classifier on one node (DP-SGD, RDP accountant)",
  usage:
    "memarc finetune --dataset NAME|--data FILE --scheme side|reversible|lora|full|probe|logreg --epsilon E --delta D [options]",
  details:
    "Trains with DP-SGD (Poisson sampling q = batch/N, per-example clipping by book-keeping, Gaussian\n" +
    "noise, fixed denominator) for round(epochs/q) steps. The noise multiplier is calibrated so the\n" +
    "RDP accountant's ε after those steps meets --epsilon; training stops before any step that would\n" +
    "exceed it. --epsilon inf trains without privacy (no clipping, no noise; a scheme whose private\n" +
    'setting relies on clipped gradients then takes the defaults marked "with --epsilon inf" below).\n' +
    "Transformer schemes fine-tune the frozen backbone in --model (default: the bundled all-MiniLM-L6-v2\n" +
    "encoder) with its tokenizer; logreg is a hashed bag-of-words logistic regression through the\n" +
    "same engine.\n" +
    "Progress (step, loss, ε spent) goes to stderr; with --json the result is the last stdout line:\n" +
    '{"scheme","epsilon" (spent; null = ∞),"delta","noiseMultiplier","steps","testAccuracy",\n' +
    '"peakBytes","examplesPerSecond",...}. peakBytes: tfjs engine bytes above the start of one DP\n' +
    "step on one physical micro-batch (batch tensors, clipped gradients, noise, optimizer update),\n" +
    "plus the small-product kernel's working memory.\n" +
    "--holdout F evaluates on a stratified part F of the TRAIN split instead of the test split\n" +
    "(for tuning hyper-parameters; testAccuracy is then null).",
  options: {
    dataset: {
      type: "string",
      value: "NAME|FILE",
      description: "the same as --data (its earlier name)",
    },
    ...LABELLED_DATA_OPTIONS,
    scheme: { type: "string", value: "S", description: `${FINETUNE_SCHEMES.join(" | ")} (required)` },
    epsilon: { type: "string", value: "E", description: "target ε, or inf for non-private (required)" },
    delta: { type: "string", value: "D", description: "δ (required unless --epsilon inf)" },
    epochs: {
      type: "string",
      value: "N",
      description: `expected passes over the data (${describePresetField("epochs", { nonPrivate: true })})`,
    },
    "batch-size": {
      type: "string",
      value: "B",
      description: `expected logical batch size (${describePresetField("batchSize", { nonPrivate: true })})`,
    },
    "max-physical-batch": {
      type: "string",
      value: "B",
      description: "largest micro-batch through the backward at once (default min(B, 32))",
    },
    lr: {
      type: "string",
      value: "X",
      description: `peak learning rate (${describePresetField("lr", { nonPrivate: true })})`,
    },
    schedule: { type: "string", value: "S", description: SCHEDULES.join(" | "), default: "constant" },
    "warmup-steps": { type: "string", value: "N", description: "linear warm-up steps", default: 0 },
    "clip-norm": {
      type: "string",
      value: "C",
      description: `per-example clipping norm (${describePresetField("clipNorm")})`,
    },
    context: {
      type: "string",
      value: "T",
      description: `tokens per example (${describePresetField("contextLength")})`,
    },
    model: {
      type: "string",
      value: "DIR",
      description:
        "backbone directory, GPT-2, BERT or RoBERTa (default: the bundled all-MiniLM-L6-v2 encoder)",
    },
    optimizer: {
      type: "string",
      value: "O",
      description: `${OPTIMIZERS.join(" | ")} (${describePresetField("optimizer", { nonPrivate: true })})`,
    },
    seed: { type: "string", value: "N", description: "initialisation seed of new parameters", default: 1 },
    reduction: { type: "string", value: "R", description: "side: width reduction (default 8)" },
    rank: { type: "string", value: "R", description: "lora: rank (default 8)" },
    "adapter-dim": { type: "string", value: "N", description: "reversible: adapter width (default 16)" },
    "hash-dim": { type: "string", value: "N", description: "logreg: hashed features (default 4096)" },
    "feature-cache": {
      type: "string",
      value: "DIR",
      description: "side: keep/reuse the frozen backbone's features in DIR (keyed by weights + tokens)",
    },
    holdout: {
      type: "string",
      value: "F",
      description: "evaluate on a fraction F of train (tuning), not test",
    },
    limit: {
      type: "string",
      value: "N",
      description: "use a stratified sample of N train (and N/4 test) examples",
    },
    steps: { type: "string", value: "N", description: "override the step count implied by --epochs" },
    out: {
      type: "string",
      value: "DIR",
      description: "write the fine-tuned model to DIR (memarc.json + trainable.safetensors) for predict/eval",
    },
    ...THREADS_OPTION,
    "progress-every": {
      type: "string",
      value: "N",
      description: "progress line every N steps (default ≈ 40 lines)",
    },
  },
  async run({ flags, out }) {
    if (flags.has("dataset") && flags.has("data"))
      throw new UsageError("--dataset and --data: give one (--data takes a bundled name or a file)");
    const dataFlag = flags.has("dataset") ? "dataset" : "data";
    if (!flags.has(dataFlag))
      throw new UsageError(
        `--data (or --dataset) NAME|FILE is required (bundled: ${datasetNames().join(", ")})`,
      );
    const kind = flags.choice("scheme", FINETUNE_SCHEMES);
    if (!kind) throw new UsageError("--scheme is required");
    const epsilon = flags.requireNumber("epsilon", { gt: 0, allowInfinity: true });
    const priv = Number.isFinite(epsilon);
    const delta = priv
      ? flags.requireNumber("delta", { gt: 0, lt: 1 })
      : (flags.number("delta", { gt: 0, lt: 1 }) ?? 0);
    // Every training setting not given is the scheme's preset (TRAINING_PRESETS, shown in --help).
    const preset = presetFor(kind, { private: priv });
    const epochs = flags.number("epochs", { gt: 0, max: 10_000 }) ?? preset.epochs;
    const batchSize = flags.int("batch-size") ?? preset.batchSize;
    const maxPhysicalBatch = flags.int("max-physical-batch");
    const threads = flags.int("threads", { min: 1, max: 64 })!;
    const lr = flags.number("lr", { gt: 0, max: 100 }) ?? preset.lr;
    const schedule = flags.choice("schedule", SCHEDULES)!;
    const warmupSteps = flags.int("warmup-steps", { min: 0 })!;
    const clipNorm = flags.number("clip-norm", { gt: 0 }) ?? preset.clipNorm;
    const optimizer = flags.choice("optimizer", OPTIMIZERS) ?? preset.optimizer;
    const seed = flags.int("seed", { min: 0 })!;
    const holdout = flags.number("holdout", { gt: 0, lt: 1 });
    const limit = flags.int("limit", { min: 8 });
    const steps = flags.int("steps");
    const progressEvery = flags.int("progress-every");
    const context = flags.has("context") ? flags.int("context", { min: 1 }) : undefined;
    const modelDir = flags.string("model");
    const featureCacheDir = flags.string("feature-cache");
    const outDir = flags.string("out") ? resolve(flags.string("out")!) : undefined;
    if (featureCacheDir !== undefined && kind !== "side")
      throw new UsageError("--feature-cache: only used by --scheme side");
    const schemeOpts = {
      reduction: flags.int("reduction"),
      rank: flags.int("rank"),
      adapterDim: flags.int("adapter-dim"),
      hashDim: flags.int("hash-dim", { min: 2 }),
    };
    if (kind === "logreg" && (modelDir || context !== undefined))
      throw new UsageError("--model/--context: not used by --scheme logreg (hashed bag-of-words)");

    const backend = await initBackend({ log: null });
    let backbone: Backbone | null = null;
    if (kind !== "logreg") {
      const dir = modelDir ?? bundledEncoderDir();
      backbone = await loadBackbone(dir);
      if (context !== undefined && context > backbone.model.config.nPositions)
        throw new UsageError(
          `--context: must be ≤ the backbone's context ${backbone.model.config.nPositions}, got ${context}`,
        );
    }
    const contextLength = context ?? Math.min(preset.contextLength, backbone?.model.config.nPositions ?? 0);

    const split = readTrainTestData(flags, { flag: dataFlag });
    const datasetName = split.name;
    out.progress(
      `loaded ${datasetName}: ${split.train.labels.length} train, ${split.test.labels.length} test examples, classes ${split.classNames.join(", ")}`,
    );
    let train: LabelledTexts = split.train;
    let test: LabelledTexts = split.test;
    if (limit !== undefined) {
      train = subsample(train, limit);
      test = subsample(test, Math.max(8, Math.round(limit / 4)));
    }
    if (holdout !== undefined) {
      const h = holdoutSplit(train, holdout);
      train = h.train;
      test = h.holdout;
    }
    if (batchSize > train.labels.length)
      throw new UsageError(`--batch-size: ${batchSize} exceeds the ${train.labels.length} training examples`);

    const scheme = createScheme(kind, backbone, { numClasses: split.train.numClasses, seed, ...schemeOpts });
    const frozen =
      (kind === "side" || kind === "probe") && backbone?.dir
        ? (await frozenEngineFor({ ...backbone, dir: backbone.dir }, { log: (l) => out.progress(l) })).engine
        : undefined;
    let every = progressEvery ?? 0;
    const terminal = out.terminal();
    const trainBar = terminal ? rateReporter("training", () => {}, { terminal }) : null;
    const prepareLine = rateReporter("caching backbone features", (l) => out.progress(l), {
      terminal: out.terminal(),
    });
    const evaluateLine = rateReporter("evaluating", (l) => out.progress(l), { terminal: out.terminal() });
    // Training starts when the features are cached (or at once, for schemes without that phase).
    let trainStart = performance.now();
    let result: FinetuneResult;
    try {
      result = await runFinetune({
        scheme,
        dataset: { train, test },
        epsilon,
        delta,
        epochs,
        batchSize,
        maxPhysicalBatch,
        lr,
        optimizer,
        schedule,
        warmupSteps,
        clipNorm,
        contextLength,
        steps,
        featureCacheDir,
        threads,
        ...(frozen ? { frozen } : {}),
        onProgress: (p) => {
          if (p.phase === "prepare") {
            prepareLine(p.done, p.total);
            trainStart = performance.now();
            return;
          }
          if (p.phase === "evaluate") {
            evaluateLine(p.done, p.total);
            return;
          }
          const eps = p.epsilon?.() ?? Number.POSITIVE_INFINITY;
          const extra =
            `loss ${p.loss?.toFixed(4)}  batch ${p.batchSize}  clipped ${((p.clippedFraction ?? 0) * 100).toFixed(0)}%  ` +
            `ε ${Number.isFinite(eps) ? eps.toFixed(3) : "∞"}`;
          if (trainBar) {
            trainBar(p.done, p.total, extra);
            return;
          }
          if (every === 0) every = Math.max(1, Math.round(p.total / 40));
          if (p.done % every !== 0 && p.done !== p.total) return;
          const seconds = (performance.now() - trainStart) / 1000;
          const eta =
            p.done < p.total ? `, ETA ${formatSeconds(((p.total - p.done) * seconds) / p.done)}` : "";
          out.progress(`step ${p.done}/${p.total} (${(seconds / p.done).toFixed(1)} s/step${eta})  ${extra}`);
        },
      });
      if (outDir) {
        saveModelDir(outDir, {
          scheme,
          schemeOptions: Object.fromEntries(Object.entries(schemeOpts).filter(([, v]) => v !== undefined)),
          classNames: split.classNames,
          contextLength: kind === "logreg" ? null : contextLength,
          backboneDir: backbone?.dir ?? null,
          privacy: priv
            ? {
                epsilon: result.epsilon,
                delta: result.delta,
                unit: "example",
                accountant: "rdp",
                dpSgd: {
                  noiseMultiplier: result.noiseMultiplier,
                  sampleRate: result.sampleRate,
                  steps: result.steps,
                  clipNorm: result.clipNorm,
                },
              }
            : null,
          createdBy: `memarc ${process.argv.slice(2).join(" ")}`,
        });
        out.progress(`model written to ${outDir}`);
      }
    } finally {
      scheme.dispose();
      backbone?.model.dispose();
    }
    const evaluatedOn = holdout !== undefined ? "train-holdout" : "test";
    const json = {
      scheme: result.scheme,
      epsilon: finite(result.epsilon),
      delta: result.delta,
      noiseMultiplier: result.noiseMultiplier,
      steps: result.steps,
      testAccuracy: evaluatedOn === "test" ? result.testAccuracy : null,
      peakBytes: result.peakBytes,
      examplesPerSecond: result.examplesPerSecond,
      private: priv,
      targetEpsilon: finite(result.targetEpsilon),
      ...(evaluatedOn === "train-holdout"
        ? { holdoutAccuracy: result.testAccuracy, holdoutFraction: holdout }
        : {}),
      evaluatedOn,
      testLoss: result.testLoss,
      sampleRate: result.sampleRate,
      plannedSteps: result.plannedSteps,
      stoppedByBudget: result.stoppedByBudget,
      peakBatch: result.peakBatch,
      wallSeconds: result.wallSeconds,
      prepareSeconds: result.prepareSeconds,
      frozenEngine: frozen?.name ?? (kind === "side" || kind === "probe" ? "tfjs" : null),
      threads: dpThreadsFor(kind, threads),
      trainSeconds: result.trainSeconds,
      evalSeconds: result.evalSeconds,
      trainExamples: result.trainExamples,
      testExamples: result.testExamples,
      trainableParams: result.trainableParams,
      clipNorm: finite(result.clipNorm),
      batchSize: result.batchSize,
      epochs: result.epochs,
      lr: result.lr,
      schedule,
      optimizer: result.optimizer,
      contextLength: kind === "logreg" ? null : result.contextLength,
      finalLoss: result.finalLoss,
      model: kind === "logreg" ? null : (backbone?.dir ?? null),
      dataset: datasetName,
      backend: backend.name,
      modelOut: outDir ?? null,
    };
    out.result(json, () => {
      const acc = (x: number) => `${(x * 100).toFixed(2)}%`;
      return [
        `${kind} on ${datasetName}: ${evaluatedOn} accuracy ${acc(result.testAccuracy)}`,
        `  ε spent ${Number.isFinite(result.epsilon) ? result.epsilon.toFixed(4) : "∞"} (target ${epsilon}, δ ${delta}), σ ${result.noiseMultiplier.toFixed(4)}, ${result.steps}/${result.plannedSteps} steps`,
        `  peak ${(result.peakBytes / 2 ** 20).toFixed(1)} MiB per DP step, ${result.examplesPerSecond.toFixed(1)} examples/s, ${result.wallSeconds.toFixed(1)} s total`,
      ].join("\n");
    });
  },
};
