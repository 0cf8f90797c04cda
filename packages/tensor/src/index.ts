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
export { halvesToTensor, widenHalves } from "./half.js";
export {
  type BatchMatMulOptions,
  batchMatMul,
  bmm,
  type DenseOptions,
  dense,
  keptBiasSum,
  keptOuterSum,
  matMul2d,
  matMulConstB,
  perExampleOuterSqNorm,
  perExampleOuterSqNormKeeping,
  perExampleTokenSumSqNorm,
  weightedOuterSum,
  weightedTokenSum,
} from "./matmul.js";
export { measurePeak, type PeakReport } from "./memory.js";
export {
  type KeptProducts,
  type SmallBatch,
  type SqNormsKeeping,
  smallBatchMatMul,
  smallKeptBiasSum,
  smallKeptWeightedSum,
  smallSqNorms,
  smallSqNormsKeeping,
  smallWeightedSum,
} from "./small-gemm.js";
export {
  type KernelCounter,
  type KernelGroup,
  kernelCounters,
  kernelPeakBytes,
  setKeepBudget,
} from "./wasm-kernels.js";
