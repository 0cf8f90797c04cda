export {
  BACKEND_REQUESTS,
  BackendError,
  type BackendInfo,
  type BackendRequest,
  currentBackend,
  type InitOptions,
  initBackend,
  parseBackendRequest,
} from "./backend.js";
export { customGrad } from "./custom.js";
export { embeddingLookup, scatterAddRows } from "./embedding.js";
export { geluErf, multiHeadAttention, normalizeLastAxis } from "./fused-ops.js";
export {
  type BatchMatMulOptions,
  batchMatMul,
  bmm,
  type DenseOptions,
  dense,
  matMul2d,
  matMulConstB,
  perExampleOuterSqNorm,
  perExampleTokenSumSqNorm,
  weightedOuterSum,
  weightedTokenSum,
} from "./matmul.js";
export { measurePeak, type PeakReport } from "./memory.js";
export { type SmallBatch, smallBatchMatMul, smallSqNorms, smallWeightedSum } from "./small-gemm.js";
export { type KernelCounter, type KernelGroup, kernelCounters, kernelPeakBytes } from "./wasm-kernels.js";
