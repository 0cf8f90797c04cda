export {
  type AccountantKind,
  type AccountantOptions,
  type AccountantState,
  accountantFromJSON,
  BudgetExhaustedError,
  createAccountant,
  PldAccountant,
  type PldOptions,
  PrivacyAccountant,
  type PrivacyBudget,
  type PrivacyEvent,
  type PrivacySpent,
  RdpAccountant,
  type StepInput,
} from "./accountant.js";
export {
  CalibrationError,
  type CalibrationRequest,
  type CalibrationResult,
  calibrateNoiseMultiplier,
} from "./calibrate.js";
export { RandomBits, type Rational } from "./discrete-gaussian.js";
export {
  addLatticeGaussian,
  addLatticeNoise,
  drawLatticeNoise,
  drawLatticeNoiseShare,
  insecureSeededBitsForTests,
  type LatticeGaussianOptions,
  LatticeNoise,
  type LatticePlan,
  latticeNoiseFromShares,
  planLattice,
} from "./lattice.js";
export { erf, erfc, logAdd, logErfc, logSub, normalCdf, normalSf } from "./math.js";
export {
  addSecureGaussianNoise,
  createInsecureSeededGaussianForTests,
  GaussianSampler,
  secureBernoulliMask,
  secureGaussian,
  secureGaussianFill,
  securePoissonSample,
  secureSampler,
  secureUniform,
  type WordSource,
} from "./noise.js";
export {
  type Adjacency,
  type ComposedPmf,
  type ComposeOptions,
  type ComposePart,
  composePmfs,
  type LossPmf,
  pmfDelta,
  pmfEpsilon,
  subsampledGaussianPmf,
} from "./pld.js";
export {
  computeRdp,
  DEFAULT_ORDERS,
  type RdpConversion,
  type RdpDeltaConversion,
  rdpToDelta,
  rdpToEpsilon,
} from "./rdp.js";
