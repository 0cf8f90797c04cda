export { hashedBagOfWords } from "./baselines/hashed-features.js";
export { LogisticRegression } from "./baselines/logistic-regression.js";
export {
  DEFAULT_MAX_PHYSICAL_BATCH,
  type DpSgdConfig,
  type DpSgdResult,
  type DpSgdRun,
  noisyMeanGradient,
  type StepInfo,
  trainDpSgd,
  validateDpSgdConfig,
} from "./dp-sgd.js";
export { type Backbone, type BackboneFiles, backboneFromFiles } from "./finetune/backbone.js";
export type { FrozenPass } from "./finetune/frozen-pass.js";
export { measureDpStepPeak, type StepPeak } from "./finetune/peak.js";
export {
  describePresetField,
  type NonPrivateOverride,
  presetFor,
  type ResolvedPreset,
  TRAINING_PRESETS,
  type TrainingPreset,
} from "./finetune/presets.js";
export {
  argmaxRows,
  type ClassificationReport,
  type ClassReport,
  classificationReport,
  rocAuc,
} from "./finetune/report.js";
export {
  type FinetuneOptions,
  type FinetuneProgress,
  type FinetuneResult,
  type LabelledTexts,
  runFinetune,
} from "./finetune/runner.js";
export {
  type BindOptions,
  type CreateSchemeOptions,
  createScheme,
  type Evaluation,
  FINETUNE_SCHEMES,
  type FinetuneScheme,
  type FinetuneSchemeKind,
  TRANSFORMER_SCHEMES,
} from "./finetune/schemes.js";
export { holdoutSplit, subsample } from "./finetune/split.js";
export type {
  ClippedBatch,
  NoiseWorkers,
  ParallelGradients,
  PlainBatch,
  TrainableModel,
  TrainingRandom,
} from "./model.js";
export {
  Adam,
  type AdamOptions,
  createOptimizer,
  type Grads,
  OPTIMIZERS,
  type Optimizer,
  type OptimizerName,
  type Params,
  Sgd,
  type SgdOptions,
} from "./optimizers.js";
export { ClipPool, ParallelError, type PoolTask } from "./parallel/clip-pool.js";
export { type ClipServerOptions, serveClipWorker } from "./parallel/clip-server.js";
export type {
  BackboneSource,
  FromWorker,
  MicroBatch,
  SetupMessage,
  ToWorker,
  WorkerSetup,
} from "./parallel/messages.js";
export { ParallelSchemeModel } from "./parallel/parallel-model.js";
export type { SpawnWorker, WorkerEvents, WorkerHandle } from "./parallel/worker-handle.js";
export { type TokenWindows, tokenWindows } from "./pretrain/windows.js";
export { makeSchedule, SCHEDULES, type Schedule, type ScheduleName } from "./schedule.js";
export { type FeatureCache, SchemeModel, type SchemeModelOptions } from "./scheme-model.js";
export { secureTrainingRandom } from "./secure-random.js";
export { median, randomRows, sideDpStepTimes, stepTimes } from "./step-timing.js";
export { type TextTokenizer, type TokenizedDataset, tokenizeDataset } from "./tokenized.js";
