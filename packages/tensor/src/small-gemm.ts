/**
 * Batched small matrix products in our own WebAssembly module (kernels/small-gemm.c, SIMD128).
 *
 * Why: the DP step at the encoder's size forms tens of thousands of small per-example products
 * (T 64, widths 24–384). Issued one by one through tfjs-wasm each pays tensor creation, a copy out
 * of the heap and XNNPACK's operator setup — ~0.1 ms of overhead on a product that needs 0.01–0.2 ms
 * of arithmetic. Here a whole batch is one call at 20–30 GFLOP/s on one thread (the 512³ matMul
 * ceiling of the same engine), per-example squared norms are summed in registers without writing the
 * products, and a weighted sum over examples accumulates into one output (docs/performance.md).
 *
 * Operands are plain Float32Arrays, copied into the module's memory (wasm-kernels.ts) for the call.
 */
import { keep, kernels, reserve, timed as timedCall, unkeep, view, write } from "./wasm-kernels.js";

/**
 * A batch of n products C_b = op(A_b) · op(B_b), op(A_b) [m×k], op(B_b) [k×p]. `a` holds n matrices
 * stored [m,k] row-major, or [k,m] when `transposeA` (A_b is then the stored matrix's transpose);
 * `b` likewise [k,p], or [p,k] when `transposeB`.
 */
export interface SmallBatch {
  n: number;
  m: number;
  k: number;
  p: number;
  a: Float32Array;
  b: Float32Array;
  transposeA?: boolean;
  transposeB?: boolean;
}

function check(x: SmallBatch): void {
  const { n, m, k, p } = x;
  for (const [name, v] of Object.entries({ n, m, k, p }))
    if (!Number.isInteger(v) || v < 0)
      throw new Error(`small-gemm: ${name} must be a non-negative integer, got ${v}`);
  if (x.a.length !== n * m * k)
    throw new Error(`small-gemm: a has ${x.a.length} numbers, expected ${n}·${m}·${k}`);
  if (x.b.length !== n * k * p)
    throw new Error(`small-gemm: b has ${x.b.length} numbers, expected ${n}·${k}·${p}`);
}

/**
 * Lay the operands out in the module's memory (growing it when needed) and return the kernel's
 * common arguments: n, M, N, K, A, sab, sam, sak, B, sbb, ldb, tb, scratch — then the output offset.
 */
function place(
  x: SmallBatch,
  outFloats: number,
  extraFloats = 0,
): { args: number[]; out: number; extra: number } {
  check(x);
  const { n, m, k, p } = x;
  const [a, b, scratch, extra, out] = reserve([x.a.length, x.b.length, k * p, extraFloats, outFloats]) as [
    number,
    number,
    number,
    number,
    number,
  ];
  write(a, x.a);
  write(b, x.b);
  // A_b(i,j) at a + b·sab + i·sam + j·sak (strides in floats; offsets in bytes).
  const [sam, sak] = x.transposeA ? [1, m] : [k, 1];
  const ldb = x.transposeB ? k : p;
  return {
    args: [n, m, p, k, a, m * k, sam, sak, b, k * p, ldb, x.transposeB ? 1 : 0, scratch],
    out,
    extra,
  };
}

/** Run one kernel call, counting it: 2·m·k·p FLOPs per product formed. */
function timed(products: number, x: SmallBatch, call: () => void): void {
  timedCall("small-gemm", 2 * products * x.m * x.k * x.p, call);
}

/**
 * Hands the result to `consume` as a view of the module's memory — valid only during the call, since
 * the next kernel call reuses that memory — and returns what it returns (default: a copy).
 */
export type Consume<R> = (view: Float32Array) => R;
const copy: Consume<Float32Array> = (v) => v.slice();

function read<R>(out: number, floats: number, consume: Consume<R>): R {
  return consume(view(out, floats));
}

/** C_b = op(A_b)·op(B_b) for every b, as [n, m, p] row-major. */
export function smallBatchMatMul(x: SmallBatch): Float32Array;
export function smallBatchMatMul<R>(x: SmallBatch, consume: Consume<R>): R;
export function smallBatchMatMul<R>(x: SmallBatch, consume?: Consume<R>): R | Float32Array {
  const { args, out } = place(x, x.n * x.m * x.p);
  timed(x.n, x, () => kernels().bmm(...args, out));
  return read<R | Float32Array>(out, x.n * x.m * x.p, consume ?? copy);
}

/** ‖op(A_b)·op(B_b)‖²_F for every b (the products are never written). */
export function smallSqNorms(x: SmallBatch): Float32Array {
  const { args, out } = place(x, x.n);
  timed(x.n, x, () => kernels().sqnorms(...args, out, 0, 0, 0, 0));
  return read(out, x.n, copy);
}

/**
 * Products op(A_b)·op(B_b) kept in the module's memory by `smallSqNormsKeeping` — and, when it was
 * asked for bias norms, each example's 1ᵀop(B_b) — for one weighted sum (`smallKeptWeightedSum`,
 * `smallKeptBiasSum`) without forming them again; `release` frees them (idempotent).
 */
export interface KeptProducts {
  readonly n: number;
  readonly m: number;
  readonly p: number;
  readonly bias: boolean;
  release(): void;
}

interface KeptRegion extends KeptProducts {
  readonly at: number;
  released: boolean;
}

export interface SqNormsKeeping {
  norms: Float32Array;
  /** ‖1ᵀop(B_b)‖² for every b when asked for (`bias`): a bias's per-example norms at a linear layer. */
  biasNorms: Float32Array | null;
  /** Null when the kept regions' budget (`setKeepBudget`) had no room. */
  kept: KeptProducts | null;
}

function keptRegion(at: number, x: SmallBatch, bias: boolean): KeptRegion {
  return {
    n: x.n,
    m: x.m,
    p: x.p,
    bias,
    at,
    released: false,
    release() {
      if (this.released) return;
      this.released = true;
      unkeep();
    },
  };
}

/**
 * The norms of `smallSqNorms`, also keeping the products when the kept regions' budget allows.
 * `bias`: also the norms of each example's column sums 1ᵀop(B_b) — at a linear layer with b as its
 * output gradients, the bias's per-example gradient — from the same copy of the operands (and kept
 * with the products).
 */
export function smallSqNormsKeeping(x: SmallBatch, o: { bias?: boolean } = {}): SqNormsKeeping {
  const bias = o.bias === true;
  if (bias && x.transposeB) throw new Error("small-gemm: bias norms need B stored untransposed");
  const productFloats = x.n * x.m * x.p;
  const at = keep(productFloats + (bias ? x.n * x.p : 0));
  const region = at === null ? null : keptRegion(at, x, bias);
  try {
    // Without a kept region the column sums go to one reused row of p floats.
    const { args, out, extra } = place(x, bias ? 2 * x.n : x.n, bias && !region ? x.p : 0);
    const biasOut = bias ? out + 4 * x.n : 0;
    const biasSums = !bias ? 0 : region ? region.at + 4 * productFloats : extra;
    const stride = bias && region ? x.p : 0;
    timed(x.n, x, () => kernels().sqnorms(...args, out, region ? region.at : 0, biasOut, biasSums, stride));
    return {
      norms: read(out, x.n, copy),
      biasNorms: bias ? read(biasOut, x.n, copy) : null,
      kept: region,
    };
  } catch (e) {
    region?.release();
    throw e;
  }
}

function keptSum<R>(
  kept: KeptProducts,
  w: Float32Array | null,
  offsetBytes: number,
  len: number,
  consume: Consume<R>,
): R {
  const k = kept as KeptRegion;
  if (k.released) throw new Error("small-gemm: kept products used after release");
  if (w && w.length !== k.n) throw new Error(`small-gemm: ${w.length} weights for ${k.n} products`);
  const [wi, out] = reserve([w ? k.n : 0, len]) as [number, number];
  if (w) write(wi, w);
  timedCall("small-gemm", 0, () => kernels().psum(k.n, len, k.at + offsetBytes, w ? wi : 0, out));
  return read(out, len, consume);
}

/** Σ_b w_b P_b over kept products as [m, p] row-major (w null: every weight 1; a weight 0 skips b). */
export function smallKeptWeightedSum<R>(kept: KeptProducts, w: Float32Array | null, consume: Consume<R>): R {
  return keptSum(kept, w, 0, kept.m * kept.p, consume);
}

/** Σ_b w_b 1ᵀop(B_b) [p] from the column sums kept with the products (when kept with `bias`). */
export function smallKeptBiasSum<R>(kept: KeptProducts, w: Float32Array | null, consume: Consume<R>): R {
  if (!kept.bias) throw new Error("small-gemm: these kept products have no bias sums");
  return keptSum(kept, w, 4 * kept.n * kept.m * kept.p, kept.p, consume);
}

/** Σ_b w_b op(A_b)·op(B_b) as [m, p] row-major (w null: every weight 1; a weight 0 skips its b). */
export function smallWeightedSum(x: SmallBatch, w: Float32Array | null): Float32Array;
export function smallWeightedSum<R>(x: SmallBatch, w: Float32Array | null, consume: Consume<R>): R;
export function smallWeightedSum<R>(
  x: SmallBatch,
  w: Float32Array | null,
  consume?: Consume<R>,
): R | Float32Array {
  if (w && w.length !== x.n) throw new Error(`small-gemm: ${w.length} weights for ${x.n} products`);
  const { args, out, extra } = place(x, x.m * x.p, w ? x.n : 0);
  if (w) write(extra, w);
  const formed = w ? w.reduce((c, v) => c + (v === 0 ? 0 : 1), 0) : x.n;
  timed(formed, x, () => kernels().wsum(...args, w ? extra : 0, out));
  return read<R | Float32Array>(out, x.m * x.p, consume ?? copy);
}
