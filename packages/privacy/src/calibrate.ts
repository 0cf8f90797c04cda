/**
 * Noise calibration: the smallest noise multiplier σ whose ε (at δ) after `steps` steps with
 * sampling rate q (composed with any fixed `alsoSpent` mechanisms) stays within a target. ε is decreasing in σ, so a bracket found by doubling /
 * halving is bisected until it is narrower than rtol·σ; the upper end (which meets the target) wins.
 */
import {
  type AccountantKind,
  type AccountantOptions,
  createAccountant,
  type StepInput,
} from "./accountant.js";

export interface CalibrationRequest {
  targetEpsilon: number;
  delta: number;
  sampleRate: number;
  steps: number;
  accountant?: AccountantKind;
  options?: AccountantOptions;
  /** Relative width of the final bracket. Default 1e-3. */
  rtol?: number;
  /**
   * Other mechanisms the same data will go through at fixed noise (e.g. planned private
   * evaluations): composed with the calibrated steps, so σ is chosen for everything together.
   */
  alsoSpent?: readonly StepInput[];
}

export interface CalibrationResult {
  noiseMultiplier: number;
  /** ε actually achieved at noiseMultiplier (≤ targetEpsilon). */
  epsilon: number;
  delta: number;
  accountant: AccountantKind;
  /** Number of ε evaluations. */
  evaluations: number;
}

export class CalibrationError extends Error {
  readonly code = "E_CALIBRATION";
  constructor(message: string) {
    super(message);
    this.name = "CalibrationError";
  }
}

export function calibrateNoiseMultiplier(req: CalibrationRequest): CalibrationResult {
  const kind = req.accountant ?? "rdp";
  const rtol = req.rtol ?? 1e-3;
  if (!(req.targetEpsilon > 0) || !Number.isFinite(req.targetEpsilon))
    throw new RangeError(`targetEpsilon must be a positive number, got ${req.targetEpsilon}`);
  if (!(rtol > 0 && rtol < 1)) throw new RangeError(`rtol must be in (0, 1), got ${rtol}`);
  let evaluations = 0;
  const eps = (sigma: number) => {
    evaluations++;
    const acc = createAccountant(kind, req.options);
    acc.step({ noiseMultiplier: sigma, sampleRate: req.sampleRate, steps: req.steps });
    for (const e of req.alsoSpent ?? []) acc.step(e);
    return acc.getEpsilon(req.delta);
  };
  const result = (noiseMultiplier: number, epsilon: number): CalibrationResult => ({
    noiseMultiplier,
    epsilon,
    delta: req.delta,
    accountant: kind,
    evaluations,
  });
  if (req.sampleRate === 0) return result(0, 0);
  let hi = 1;
  let epsHi = eps(hi);
  let lo = hi;
  if (epsHi > req.targetEpsilon) {
    while (epsHi > req.targetEpsilon) {
      lo = hi;
      hi *= 2;
      if (hi > 2 ** 24)
        throw new CalibrationError(`no noise multiplier ≤ 2^24 reaches ε=${req.targetEpsilon}`);
      epsHi = eps(hi);
    }
  } else {
    lo = hi / 2;
    while (eps(lo) <= req.targetEpsilon) {
      hi = lo;
      lo /= 2;
      if (lo < 1e-6) throw new CalibrationError(`ε stays ≤ ${req.targetEpsilon} even with σ < 1e-6`);
    }
    epsHi = eps(hi);
  }
  // Invariant: ε(lo) > target ≥ ε(hi) = epsHi.
  while (hi - lo > rtol * hi) {
    const mid = 0.5 * (lo + hi);
    const e = eps(mid);
    if (e <= req.targetEpsilon) {
      hi = mid;
      epsHi = e;
    } else lo = mid;
  }
  return result(hi, epsHi);
}
