/**
 * Matrix products whose gradients use explicit `tf.transpose` + plain `matMul`.
 *
 * Why: on the wasm backend `matMul` with `transposeA`/`transposeB` is 7–14× slower than transposing
 * first, and tfjs's built-in matMul gradient uses those flags (see /work/shared/TFJS-NOTES.md).
 * Batched products are also ~15× less efficient than 2-D ones, so `dense` folds [B,T,D] into
 * [B·T,D] before multiplying.
 */
import * as tf from "@tensorflow/tfjs";
import { customGrad } from "./custom.js";

const t2 = (x: tf.Tensor2D): tf.Tensor2D => tf.transpose(x);

/** a[M,K] · b[K,N] with a transpose-free gradient for both operands. */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const f = customGrad((x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, y]);
    return {
      value: tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.matMul(dy as tf.Tensor2D, t2(sy)), tf.matMul(t2(sx), dy as tf.Tensor2D)];
      },
    };
  });
  return f(a, b) as tf.Tensor2D;
}

/**
 * a[M,K] · w[K,N] where `w` is a constant: the gradient flows to `a` only, so no weight gradient
 * is ever computed (frozen layers, and the probe-based DP backward that forms weight gradients
 * itself from stored activations).
 */
export function matMulConstB(a: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const f = customGrad((x: tf.Tensor, _save: tf.GradSaveFunc) => ({
    value: tf.matMul(x as tf.Tensor2D, w),
    gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, t2(w)),
  }));
  return f(a) as tf.Tensor2D;
}

function swapLast(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const n = perm.length;
  perm[n - 1] = n - 2;
  perm[n - 2] = n - 1;
  return tf.transpose(x, perm);
}

/**
 * Backends whose BatchMatMul is slower than 2-D products issued one example at a time. tfjs-wasm
 * runs batched products of per-example matrices (T 64, widths 24–384) at a fraction of its 2-D
 * speed; a loop of 2-D products over the examples' data, with the operands handed over as typed
 * arrays, is 2.5–3.3× faster end to end (docs/performance.md).
 */
function loopsWin(): boolean {
  const name = tf.getBackend();
  return name === "wasm" || name === "cpu";
}

/** a[...,M,K] · b[...,K,N] with the same leading dims, no gradient (see loopsWin). */
export function batchMatMul<T extends tf.Tensor>(a: T, b: T): T {
  const lead = a.shape.slice(0, -2);
  const n = lead.reduce((p, d) => p * d, 1);
  if (n <= 1 || !loopsWin()) return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D) as unknown as T;
  const [m, k] = a.shape.slice(-2) as [number, number];
  const p = b.shape[b.rank - 1]!;
  const ad = a.dataSync() as Float32Array;
  const bd = b.dataSync() as Float32Array;
  const out = new Float32Array(n * m * p);
  for (let i = 0; i < n; i++) {
    const r = tf.tidy(() =>
      tf.matMul(
        tf.tensor2d(ad.subarray(i * m * k, (i + 1) * m * k), [m, k]),
        tf.tensor2d(bd.subarray(i * k * p, (i + 1) * k * p), [k, p]),
      ),
    );
    out.set(r.dataSync() as Float32Array, i * m * p);
    r.dispose();
  }
  return tf.tensor(out, [...lead, m, p]) as T;
}

/**
 * ‖a_iᵀ g_i‖²_F for every i of a[N,T,Din], g[N,T,Dout]: the squared norm of example i's weight
 * gradient at a linear layer (book-keeping DP). On wasm/cpu each example's Din×Dout product is one
 * 2-D matMul; elsewhere the batched form, with fastDP's ghost rule (⟨a aᵀ, g gᵀ⟩ when 2T² ≤ Din·Dout).
 */
export function perExampleOuterSqNorm(a: tf.Tensor3D, g: tf.Tensor3D): tf.Tensor1D {
  const [n, t, din] = a.shape;
  const dout = g.shape[2];
  if (!loopsWin())
    return tf.tidy(() => {
      if (2 * t * t <= din * dout) {
        const gram = (x: tf.Tensor3D) => tf.matMul(x, tf.transpose(x, [0, 2, 1]) as tf.Tensor3D);
        return tf.sum(tf.mul(gram(a), gram(g)), [1, 2]) as tf.Tensor1D;
      }
      return tf.sum(
        tf.square(tf.matMul(tf.transpose(a, [0, 2, 1]) as tf.Tensor3D, g)),
        [1, 2],
      ) as tf.Tensor1D;
    });
  // ‖a_iᵀ g_i‖ = ‖g_iᵀ a_i‖: transpose whichever operand is narrower, in JS, one example at a time
  // (tfjs-wasm's Transpose of a whole [N,T,D] activation costs more than the products).
  const ad = a.dataSync() as Float32Array;
  const gd = g.dataSync() as Float32Array;
  const [small, big, ds, db] = din <= dout ? [ad, gd, din, dout] : [gd, ad, dout, din];
  const scratch = new Float32Array(ds * t);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const base = i * t * ds;
    for (let r = 0; r < t; r++) for (let c = 0; c < ds; c++) scratch[c * t + r] = small[base + r * ds + c]!;
    const s = tf.tidy(() =>
      tf.sum(
        tf.square(
          tf.matMul(
            tf.tensor2d(scratch, [ds, t]),
            tf.tensor2d(big.subarray(i * t * db, (i + 1) * t * db), [t, db]),
          ),
        ),
      ),
    );
    out[i] = s.dataSync()[0]!;
    s.dispose();
  }
  return tf.tensor1d(out);
}

/**
 * Every example's weight gradient at a linear layer, kept: P_i = a_iᵀ g_i ([Din, Dout]) or, when
 * Din > Dout, g_iᵀ a_i ([Dout, Din]; `transposed`) — one 2-D product per example on the narrow side,
 * as `perExampleOuterSqNorm` forms them on wasm/cpu — with ‖P_i‖² from the same numbers. Null where
 * batched products win (see loopsWin). Why keep them: the clipped sum Σ_i c_i P_i is then a weighted
 * sum of arrays already at hand, instead of a second product over the whole micro-batch.
 */
export interface PerExampleProducts {
  products: Float32Array;
  sqNorms: Float32Array;
  /** Rows × cols of one P_i. */
  rows: number;
  cols: number;
  transposed: boolean;
}

export function perExampleOuterProducts(a: tf.Tensor3D, g: tf.Tensor3D): PerExampleProducts | null {
  if (!loopsWin()) return null;
  // The loop mirrors perExampleOuterSqNorm's on purpose: sharing it through a per-example callback
  // measured 10–15 % slower on the side DP step (scripts/profile-side-step.mjs 32, A/B).
  const [n, t, din] = a.shape;
  const dout = g.shape[2];
  const ad = a.dataSync() as Float32Array;
  const gd = g.dataSync() as Float32Array;
  const transposed = din > dout;
  const [small, big, ds, db] = transposed ? [gd, ad, dout, din] : [ad, gd, din, dout];
  const size = ds * db;
  const products = new Float32Array(n * size);
  const sqNorms = new Float32Array(n);
  const scratch = new Float32Array(ds * t);
  for (let i = 0; i < n; i++) {
    const base = i * t * ds;
    for (let r = 0; r < t; r++) for (let c = 0; c < ds; c++) scratch[c * t + r] = small[base + r * ds + c]!;
    const p = tf.tidy(() =>
      tf.matMul(
        tf.tensor2d(scratch, [ds, t]),
        tf.tensor2d(big.subarray(i * t * db, (i + 1) * t * db), [t, db]),
      ),
    );
    const v = p.dataSync() as Float32Array;
    p.dispose();
    products.set(v, i * size);
    let sq = 0;
    for (let j = 0; j < size; j++) sq += v[j]! * v[j]!;
    sqNorms[i] = sq;
  }
  return { products, sqNorms, rows: ds, cols: db, transposed };
}

/** Σ_i w_i P_i as a [Din, Dout] weight gradient (w = null: plain sum). */
export function weightedProductSum(p: PerExampleProducts, w: Float32Array | null): tf.Tensor2D {
  const size = p.rows * p.cols;
  const n = p.products.length / size;
  const out = new Float32Array(size);
  for (let i = 0; i < n; i++) {
    const wi = w ? w[i]! : 1;
    if (wi === 0) continue;
    const base = i * size;
    for (let j = 0; j < size; j++) out[j] = out[j]! + wi * p.products[base + j]!;
  }
  return tf.tidy(() => {
    const sum = tf.tensor2d(out, [p.rows, p.cols]);
    return p.transposed ? (tf.transpose(sum) as tf.Tensor2D) : sum;
  });
}

/** Batched a[...,M,K] · b[...,K,N] (same leading dims) with a transpose-flag-free gradient. */
export function bmm<T extends tf.Tensor>(a: T, b: T): T {
  const f = customGrad((x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, y]);
    return {
      value: batchMatMul(x, y),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor, tf.Tensor];
        return [batchMatMul(dy, swapLast(sy)), batchMatMul(swapLast(sx), dy)];
      },
    };
  });
  return f(a, b) as T;
}

/** Transpose of the last two axes (explicit, so later products avoid the transpose flags). */
export const transposeLast = swapLast;

export interface DenseOptions {
  /** Treat `w` as a constant (no weight gradient). Default false. */
  constW?: boolean;
}

/** x[...,D] · w[D,K] (+ b[K]), computed as one 2-D product. */
export function dense<T extends tf.Tensor>(
  x: T,
  w: tf.Tensor2D,
  b?: tf.Tensor1D,
  opts: DenseOptions = {},
): T {
  const d = x.shape[x.rank - 1]!;
  const k = w.shape[1];
  const lead = x.shape.slice(0, -1);
  const x2 = tf.reshape(x, [-1, d]) as tf.Tensor2D;
  let y: tf.Tensor = opts.constW ? matMulConstB(x2, w) : matMul2d(x2, w);
  if (b) y = tf.add(y, b);
  return tf.reshape(y, [...lead, k]) as T;
}
