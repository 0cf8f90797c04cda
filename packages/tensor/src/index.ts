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
export {
  type SmallBatch,
  smallBatchMatMul,
  smallGemmCounters,
  smallGemmPeakBytes,
  smallSqNorms,
  smallWeightedSum,
} from "./small-gemm.js";
