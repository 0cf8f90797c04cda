export type { FrozenEngine, FrozenOutputs, InferenceRequest } from "./engine.js";
export { INFERENCE_REQUESTS, InferenceError, parseInferenceRequest } from "./engine.js";
export { GraphBuilder, OPSET } from "./onnx/builder.js";
export { bertGraph, FROZEN_GRAPH_VERSION, frozenGraph, gpt2Graph } from "./onnx/graphs.js";
export { type HfWeights, readHfWeights } from "./onnx/hf-weights.js";
export {
  defaultThreads,
  exportFrozenGraph,
  type OnnxEngineOptions,
  OnnxFrozenEngine,
} from "./onnx-engine.js";
export {
  type EngineChoice,
  type InferenceInfo,
  inferenceInfo,
  type SelectEngineOptions,
  selectFrozenEngine,
} from "./select.js";
export { TfjsFrozenEngine } from "./tfjs-engine.js";
