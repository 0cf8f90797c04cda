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
  batchMatMul,
  bmm,
  type DenseOptions,
  dense,
  matMul2d,
  matMulConstB,
  type PerExampleProducts,
  perExampleOuterProducts,
  perExampleOuterSqNorm,
  transposeLast,
  weightedProductSum,
} from "./matmul.js";
export { measurePeak, type PeakReport } from "./memory.js";
