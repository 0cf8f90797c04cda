/**
 * The Gaussian mechanism as MemArc releases it: on a lattice, with exact integer noise.
 *
 *   x ∈ ℝ^d (a clipped gradient sum, an aggregate of clipped updates, a count)
 *   k = round(x / γ)                     snap to the grid γℤ^d (γ a power of two, so x/γ is exact)
 *   Z ~ N_Z(0, σ_γ²)^d                   exact discrete Gaussian (discrete-gaussian.ts)
 *   release γ·(k + Z)                    on the grid, whatever x was
 *
 * Why: a float Gaussian added to a float leaves x in the low-order bits of the sum (Mironov 2012;
 * Jin et al. 2022). Here every released value is a grid point reached by exact integer arithmetic
 * (|k + Z| < 2^53 is checked), so the set of possible outputs does not depend on x; converting the
 * grid point to float32 afterwards is post-processing.
 *
 * Cost, charged in noise rather than in ε: rounding moves each coordinate by at most γ/2, so two
 * neighbouring inputs whose distance is at most Δ snap to points at most Δ + γ√d apart. The integer
 * noise's standard deviation is therefore inflated to σ·(1 + γ√d/Δ): the mechanism is then at least
 * as private as the continuous Gaussian with multiplier z = σ/Δ that the accountants charge. γ is
 * chosen so that γ√d ≤ Δ/1024 — at most 0.1 % more noise. σ_γ = inflated σ / γ is at least 1024·z
 * (and never below 128), so the discrete Gaussian's Rényi divergences equal the continuous ones up to
 * terms of order exp(−2π²σ_γ²) (Canonne, Kamath & Steinke 2020, §2; Kairouz et al. 2021, Prop. 14):
 * zero in double precision.
 */
import { DiscreteGaussian, RandomBits } from "./discrete-gaussian.js";
import { cryptoWordSource, insecureSeededWordsForTests } from "./noise.js";

/** Grid resolution: γ√d ≤ Δ / GRID_RATIO. */
export const GRID_RATIO = 1024;
/** Smallest integer-noise standard deviation allowed on the grid. */
const MIN_LATTICE_STD = 64;
const MAX_EXACT = 2 ** 52;

export interface LatticeGaussianOptions {
  /** Standard deviation σ of the Gaussian the accountant charges for (σ = z·Δ). */
  std: number;
  /** L2 sensitivity Δ of the released vector (per-example clip C, update clip S, ½ for a centred count). */
  sensitivity: number;
}

export interface LatticePlan {
  /** Grid step γ (a power of two). */
  grid: number;
  /** Factor by which σ is raised to pay for the rounding: 1 + γ√d/Δ. */
  noiseInflation: number;
  /** Standard deviation of the integer noise, in grid units. */
  latticeStd: number;
}

/** The grid and noise used for a d-dimensional release (a pure function of d, σ and Δ). */
export function planLattice(dimension: number, o: LatticeGaussianOptions): LatticePlan {
  if (!Number.isSafeInteger(dimension) || dimension < 1)
    throw new RangeError(`lattice release: dimension must be ≥ 1, got ${dimension}`);
  if (!(o.std > 0) || !Number.isFinite(o.std))
    throw new RangeError(`lattice release: noise std must be positive, got ${o.std}`);
  if (!(o.sensitivity > 0) || !Number.isFinite(o.sensitivity))
    throw new RangeError(`lattice release: sensitivity must be positive, got ${o.sensitivity}`);
  const root = Math.sqrt(dimension);
  const byRounding = o.sensitivity / GRID_RATIO / root;
  const byNoise = o.std / (2 * MIN_LATTICE_STD); // inflation ≤ 1.001 keeps σ/γ ≥ 64
  const grid = 2 ** Math.floor(Math.log2(Math.min(byRounding, byNoise)));
  const noiseInflation = 1 + (grid * root) / o.sensitivity;
  return { grid, noiseInflation, latticeStd: (o.std * noiseInflation) / grid };
}

const samplers = new Map<number, DiscreteGaussian>();
function discreteGaussian(std: number): DiscreteGaussian {
  let s = samplers.get(std);
  if (!s) {
    if (samplers.size > 64) samplers.clear();
    s = DiscreteGaussian.ofStd(std);
    samplers.set(std, s);
  }
  return s;
}

/**
 * Release `parts` (one vector, split over several arrays) through the lattice Gaussian mechanism,
 * in place. Throws on a non-finite value or one too large for exact grid arithmetic — a release is
 * never made of a value the mechanism cannot represent.
 */
export function addLatticeGaussian(
  parts: ReadonlyArray<Float32Array | Float64Array>,
  o: LatticeGaussianOptions,
  bits: RandomBits = secureRandomBits(),
): LatticePlan {
  const d = parts.reduce((n, p) => n + p.length, 0);
  const plan = planLattice(d, o);
  const g = discreteGaussian(plan.latticeStd);
  const inv = 1 / plan.grid;
  // k·γ + Z·γ = (k + Z)·γ exactly: both are integers (|k + Z| < 2^53) times a power of two.
  for (const p of parts)
    for (let i = 0; i < p.length; i++)
      p[i] = onGrid(p[i]!, inv, plan.grid) + g.sampleNumber(bits) * plan.grid;
  return plan;
}

/**
 * One release's integer noise Z, drawn before the data it will noise: it depends only on the
 * dimension, σ and Δ, so a DP step can draw it while its gradients are still being clipped (on
 * worker threads). Used by exactly one release (`addLatticeNoise` takes it; a second use throws).
 */
export class LatticeNoise {
  private values: Float64Array | null;

  constructor(
    readonly dimension: number,
    readonly options: Readonly<LatticeGaussianOptions>,
    readonly plan: LatticePlan,
    values: Float64Array,
  ) {
    this.values = values;
  }

  /** The draws, once. */
  take(): Float64Array {
    const v = this.values;
    if (!v) throw new Error("lattice release: this noise was already used for a release");
    this.values = null;
    return v;
  }
}

/** Lets other tasks run (worker results, timers) between chunks of a long draw. */
function yieldToEventLoop(): Promise<void> {
  // Node: setImmediate. Browsers: a MessageChannel round trip (setTimeout(0) is clamped to ≥ 4 ms).
  const g = globalThis as unknown as {
    setImmediate?: (f: () => void) => void;
    MessageChannel: new () => {
      port1: { onmessage: (() => void) | null; close(): void };
      port2: { postMessage(v: unknown): void };
    };
  };
  return new Promise((resolve) => {
    if (g.setImmediate) g.setImmediate(resolve);
    else {
      const c = new g.MessageChannel();
      c.port1.onmessage = () => {
        c.port1.close();
        resolve();
      };
      c.port2.postMessage(0);
    }
  });
}

/**
 * Draw the noise of a d-dimensional release ahead of its data: the same draws, from the same bits,
 * as `addLatticeGaussian` makes (one per coordinate, in order), yielding to the event loop every
 * `yieldEvery` draws so that other work on this thread keeps moving.
 */
export async function drawLatticeNoise(
  dimension: number,
  o: LatticeGaussianOptions,
  bits: RandomBits = secureRandomBits(),
  yieldEvery = 1 << 16,
): Promise<LatticeNoise> {
  const plan = planLattice(dimension, o);
  const g = discreteGaussian(plan.latticeStd);
  const z = new Float64Array(dimension);
  for (let i = 0; i < dimension; i++) {
    z[i] = g.sampleNumber(bits);
    if ((i + 1) % yieldEvery === 0) await yieldToEventLoop();
  }
  return new LatticeNoise(dimension, { std: o.std, sensitivity: o.sensitivity }, plan, z);
}

/**
 * `count` of the integer draws of a `dimension`-dimensional release — its plan, hence its noise, is
 * that of the whole release — for a share of the release's noise drawn elsewhere (a DP-step worker
 * thread, with its own CSPRNG). The draws are i.i.d., so shares drawn independently and laid end to
 * end (`latticeNoiseFromShares`) are distributed exactly as one `drawLatticeNoise`.
 */
export function drawLatticeNoiseShare(
  dimension: number,
  count: number,
  o: LatticeGaussianOptions,
  bits: RandomBits = secureRandomBits(),
): Float64Array {
  if (!Number.isSafeInteger(count) || count < 0 || count > dimension)
    throw new RangeError(`lattice release: a share of ${count} draws of a ${dimension}-dimensional release`);
  const g = discreteGaussian(planLattice(dimension, o).latticeStd);
  const z = new Float64Array(count);
  for (let i = 0; i < count; i++) z[i] = g.sampleNumber(bits);
  return z;
}

/** One release's noise from shares drawn for it by `drawLatticeNoiseShare` (lengths summing to `dimension`). */
export function latticeNoiseFromShares(
  dimension: number,
  o: LatticeGaussianOptions,
  shares: ReadonlyArray<Float64Array>,
): LatticeNoise {
  const total = shares.reduce((n, s) => n + s.length, 0);
  if (total !== dimension)
    throw new RangeError(
      `lattice release: noise shares hold ${total} draws for a ${dimension}-dimensional release`,
    );
  const plan = planLattice(dimension, o);
  const z = new Float64Array(dimension);
  let at = 0;
  for (const s of shares) {
    z.set(s, at);
    at += s.length;
    s.fill(0);
  }
  return new LatticeNoise(dimension, { std: o.std, sensitivity: o.sensitivity }, plan, z);
}

/**
 * Release `parts` with noise drawn ahead by `drawLatticeNoise` for this very release (same
 * dimension, σ and Δ — checked), in place: γ·(round(x/γ) + Z), as `addLatticeGaussian`.
 */
export function addLatticeNoise(
  parts: ReadonlyArray<Float32Array | Float64Array>,
  noise: LatticeNoise,
  o: LatticeGaussianOptions,
): LatticePlan {
  const d = parts.reduce((n, p) => n + p.length, 0);
  if (d !== noise.dimension || o.std !== noise.options.std || o.sensitivity !== noise.options.sensitivity)
    throw new RangeError(
      `lattice release: noise drawn for dimension ${noise.dimension}, σ ${noise.options.std}, Δ ${noise.options.sensitivity} ` +
        `cannot release dimension ${d}, σ ${o.std}, Δ ${o.sensitivity}`,
    );
  const z = noise.take();
  const { plan } = noise;
  const inv = 1 / plan.grid;
  let j = 0;
  for (const p of parts)
    for (let i = 0; i < p.length; i++) p[i] = onGrid(p[i]!, inv, plan.grid) + z[j++]! * plan.grid;
  z.fill(0);
  return plan;
}

/** γ·round(x/γ), refusing what exact grid arithmetic cannot represent. */
function onGrid(x: number, inv: number, grid: number): number {
  const k = Math.round(x * inv);
  if (!(Math.abs(k) < MAX_EXACT))
    throw new RangeError(`lattice release: value ${x} cannot be released exactly (non-finite or too large)`);
  return k * grid;
}

/** One scalar through the same mechanism (e.g. a noised count). */
export function latticeGaussianScalar(
  value: number,
  o: LatticeGaussianOptions,
  bits: RandomBits = secureRandomBits(),
): number {
  const a = Float64Array.of(value);
  addLatticeGaussian([a], o, bits);
  return a[0]!;
}

let secure: RandomBits | undefined;

/** The process-wide CSPRNG-backed random bits for the exact samplers. */
export function secureRandomBits(): RandomBits {
  secure ??= new RandomBits(cryptoWordSource);
  return secure;
}

/** FOR TESTS ONLY — NOT PRIVATE. Reproducible random bits for the exact samplers. */
export function insecureSeededBitsForTests(seed: number): RandomBits {
  return new RandomBits(insecureSeededWordsForTests(seed));
}
