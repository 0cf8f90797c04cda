/**
 * What the DP-SGD engine needs from a model: its named trainable variables and, for a set of
 * dataset examples, the clipped sum of per-example gradients (computed by the scheme's
 * book-keeping backward — never by a per-example loop) or the plain summed gradient.
 */
import type { LatticeNoise } from "@memarc/privacy";
import type * as tf from "@tensorflow/tfjs";
import type { Grads, Params } from "./optimizers.js";

export interface ClippedBatch {
  /** Σᵢ min(1, C/‖gᵢ‖)·gᵢ per parameter. Owned by the caller after return. */
  clippedSum: Grads;
  /** ‖gᵢ‖ per example, before clipping. */
  norms: Float32Array;
  /** Σᵢ lossᵢ over the examples. */
  lossSum: number;
}

export interface PlainBatch {
  sum: Grads;
  lossSum: number;
}

export interface TrainableModel {
  readonly params: Params;
  clippedGradients(indices: Int32Array, clipNorm: number): ClippedBatch;
  gradients(indices: Int32Array): PlainBatch;
  /**
   * The same two computations on other threads (see parallel/): when present, the DP-SGD driver
   * runs up to `concurrency` micro-batches of a step at once through it and sums their clipped sums
   * on this thread, where the noise is added once. The mechanism and its accounting are unchanged:
   * per-example clipping is separable, so Σ over micro-batches of clipped sums is the step's sum.
   */
  readonly parallel?: ParallelGradients;
}

/** Gradient computations a model runs on worker threads; the results are owned by the caller. */
export interface ParallelGradients {
  /** Micro-batches that can be in flight at once (the number of worker threads). */
  readonly concurrency: number;
  clippedGradients(indices: Int32Array, clipNorm: number): Promise<ClippedBatch>;
  gradients(indices: Int32Array): Promise<PlainBatch>;
  /** The same worker threads, to draw shares of a step's noise (see TrainingRandom.drawNoise). */
  readonly noiseWorkers?: NoiseWorkers;
}

/**
 * Threads that draw shares of a release's integer noise, each from its own CSPRNG
 * (`drawLatticeNoiseShare` of @memarc/privacy): share i holds counts[i] draws of the whole
 * `dimension`-dimensional release's plan. They draw; they never add noise or release anything.
 */
export interface NoiseWorkers {
  readonly concurrency: number;
  drawShares(
    dimension: number,
    counts: number[],
    o: { std: number; sensitivity: number },
  ): Promise<Float64Array[]>;
}

/** Randomness the engine draws on. Production: @memarc/privacy's CSPRNG-backed functions. */
export interface TrainingRandom {
  /** Indices i ∈ [0, n) each included independently with probability q (Poisson sampling). */
  poissonSample(n: number, q: number): Int32Array;
  /**
   * Release `values` (one vector) through the Gaussian mechanism in place: noise of standard
   * deviation `std` for an L2 sensitivity of `sensitivity`. Production: @memarc/privacy's lattice
   * mechanism with exact discrete Gaussian noise from the CSPRNG.
   */
  addNoise(values: Float32Array | Float64Array, std: number, sensitivity: number): void;
  /**
   * Optional: draw the noise of a release of `dimension` values ahead of them — it depends only on
   * the dimension, σ and Δ — letting other work on this thread run meanwhile. The DP step draws it
   * while worker threads clip the step's micro-batches, then releases with `addDrawnNoise`, which
   * must give what `addNoise` would from the same random bits. Each draw serves one release.
   * `workers`, when given, may draw it in shares on the DP step's worker threads (the production
   * source does, each share from that thread's CSPRNG; a seeded source for tests ignores them).
   */
  drawNoise?(
    dimension: number,
    std: number,
    sensitivity: number,
    workers?: NoiseWorkers,
  ): Promise<LatticeNoise>;
  addDrawnNoise?(
    values: Float32Array | Float64Array,
    noise: LatticeNoise,
    std: number,
    sensitivity: number,
  ): void;
}

export function disposeGrads(g: Grads): void {
  for (const t of g.values()) (t as tf.Tensor).dispose();
}
