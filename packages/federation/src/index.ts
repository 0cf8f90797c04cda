export { FinetuneLocalModel } from "./client/finetune-local-model.js";
export type { LocalModel } from "./client/local-model.js";
export {
  LocalTrainer,
  type LocalTrainerOptions,
  type NodePrivacyPolicy,
  PolicyError,
} from "./client/local-trainer.js";
export {
  finetuneModelFactory,
  HELD_OUT_FRACTION,
  type ModelFactoryOptions,
  type NodeDataset,
} from "./client/model-factory.js";
export { assignVariables, readVariables } from "./client/variables.js";
export {
  Coordinator,
  type CoordinatorDeps,
  type CoordinatorEvent,
  type CoordinatorOptions,
  type CoordinatorStart,
  NoUsableUpdatesError,
  type RunSummary,
} from "./coordinator/coordinator.js";
export {
  type AccountantFactory,
  type Budget,
  type LedgerAccountant,
  type LedgerJson,
  PrivacyLedger,
  type PrivacyUnit,
} from "./coordinator/ledger.js";
export {
  DeadlineError,
  type EvaluateReply,
  type EvaluateRequest,
  type EvaluationMechanismSettings,
  type FitReply,
  type FitRequest,
  type NodePool,
  NotEnoughNodesError,
  type PoolNode,
} from "./coordinator/node-pool.js";
export type { CoordinatorState, NodeRecord, RoundRecord, WeightsCodec } from "./coordinator/state.js";
export { accountantFactory, safetensorsWeightsCodec } from "./coordinator/wiring.js";
export { StateError } from "./persist/state-error.js";
export {
  composePlan,
  type LocalOptimization,
  type LocalTrainingPlan,
  localOptimizationFor,
} from "./plan/local-training-plan.js";
export { FedAdam, type FedAdamOptions, type ServerOptimizer, ServerSgd } from "./server-optimizer.js";
export type { AdaptiveClipOptions } from "./strategy/adaptive-clip.js";
export {
  adaptiveClipFor,
  calibrateLocalDp,
  calibrateServerNoise,
  type LocalDpCalibration,
  plannedEvaluations,
} from "./strategy/dp-policy.js";
export { FedAvg, type FedAvgOptions } from "./strategy/fedavg.js";
export { evaluateSummary } from "./strategy/metrics.js";
export { secureMechanismRandom } from "./strategy/secure-random.js";
export type {
  AggregateOutcome,
  EvaluateResult,
  Failure,
  FitConfig,
  FitPlan,
  FitResult,
  FitTask,
  LedgerEvent,
  LocalDpSettings,
  MechanismRandom,
  NodeInfo,
  RoundContext,
  Strategy,
} from "./strategy/types.js";
export { UserLevelDp, type UserLevelDpOptions } from "./strategy/user-level-dp.js";
export {
  type AccountantStore,
  type ModelSpec,
  type NodeEvent,
  NodeRunner,
  type NodeRunnerOptions,
  type NodeRunSummary,
} from "./transport/node-runner.js";
export { NodeError, SocketNodePool, type SocketPoolEvents } from "./transport/socket-pool.js";
export {
  fromNamedTensors,
  fromRoundTask,
  type ShapeMap,
  toNamedTensors,
  toRoundTask,
} from "./transport/task-config.js";
export {
  addScaled,
  assertCompatible,
  clipped,
  cloneWeights,
  l2Norm,
  scaleInPlace,
  totalSize,
  type Weights,
  WeightsMismatchError,
  zerosLike,
} from "./weights.js";
