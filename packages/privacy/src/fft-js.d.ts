/**
 * Typings for the parts of fft.js (radix-4 FFT, MIT) that pld.ts uses. The package ships
 * `any`-typed declarations; this ambient module takes precedence and documents the buffer layout:
 * complex arrays are interleaved [re0, im0, re1, im1, ...] of length 2·size; sizes are powers of 2.
 * Any indexable numeric storage works, so we pass Float64Arrays instead of plain arrays.
 */
declare module "fft.js" {
  type NumArray = Float64Array | number[];
  class FFT {
    constructor(size: number);
    readonly size: number;
    /** Forward transform of a real input of length `size`; fills only the left half of `out`. */
    realTransform(out: NumArray, data: NumArray): void;
    /** Mirror the left half of a real transform's spectrum into the right half (Hermitian). */
    completeSpectrum(spectrum: NumArray): void;
    transform(out: NumArray, data: NumArray): void;
    /** Inverse transform, already divided by `size`. `out` and `data` must differ. */
    inverseTransform(out: NumArray, data: NumArray): void;
  }
  export = FFT;
}
