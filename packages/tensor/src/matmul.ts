/**
 * Matrix products whose gradients use explicit `tf.transpose` + plain `matMul`, and batched products
 * through our own kernel.
 *
 * Why: on the wasm backend `matMul` with `transposeA`/`transposeB` is 7–14× slower than transposing
 * first, and tfjs's built-in matMul gradient uses those flags (see /work/shared/TFJS-NOTES.md).
 * tfjs-wasm's batched products are also far less efficient than 2-D ones, so `dense` folds [B,T,D]
 * into [B·T,D] before multiplying, and per-example products (attention, book-keeping norms and
 * clipped sums) go to the small-product kernel (small-gemm.ts) on wasm and cpu.
 */
import * as tf from "@tensorflow/tfjs";
import { customGrad } from "./custom.js";
import { kernelWins, tensorFrom, valuesOf } from "./kernel-io.js";
import {
  type KeptProducts,
  type SmallBatch,
  smallBatchMatMul,
  smallKeptBiasSum,
  smallKeptWeightedSum,
  smallSqNorms,
  smallSqNormsKeeping,
  smallWeightedSum,
} from "./small-gemm.js";

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

export interface BatchMatMulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
}

/**
 * op(a)[...,M,K] · op(b)[...,K,N] with the same leading dims, no gradient. `transposeA`/`transposeB`
 * read the stored last two axes transposed (free in the kernel: strides, or one copy of B's panel).
 */
export function batchMatMul<T extends tf.Tensor>(a: T, b: T, o: BatchMatMulOptions = {}): T {
  const lead = a.shape.slice(0, -2);
  const n = lead.reduce((p, d) => p * d, 1);
  if (!kernelWins())
    return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, o.transposeA, o.transposeB) as unknown as T;
  const [ra, ca] = a.shape.slice(-2) as [number, number];
  const [rb, cb] = b.shape.slice(-2) as [number, number];
  const [m, k] = o.transposeA ? [ca, ra] : [ra, ca];
  const p = o.transposeB ? rb : cb;
  return smallBatchMatMul(
    { n, m, k, p, a: valuesOf(a), b: valuesOf(b), transposeA: o.transposeA, transposeB: o.transposeB },
    (view) => tensorFrom<T>(view, [...lead, m, p]),
  );
}

/**
 * The per-example pair (a_iᵀ, g_i) as a small batch: example i's weight gradient at a linear layer
 * is a_iᵀ g_i [Din, Dout], with a[N,T,Din] and g[N,T,Dout] stored row-major.
 */
function outerBatch(a: tf.Tensor3D, g: tf.Tensor3D): SmallBatch {
  const [n, t, din] = a.shape;
  return {
    n,
    m: din,
    k: t,
    p: g.shape[2],
    a: valuesOf(a),
    b: valuesOf(g),
    transposeA: true,
  };
}

/**
 * ‖a_iᵀ g_i‖²_F for every i of a[N,T,Din], g[N,T,Dout]: the squared norm of example i's weight
 * gradient at a linear layer (book-keeping DP). On wasm/cpu the small-product kernel sums each
 * product's squares without writing it; elsewhere the batched form, with fastDP's ghost rule
 * (⟨a aᵀ, g gᵀ⟩ when 2T² ≤ Din·Dout).
 */
export function perExampleOuterSqNorm(a: tf.Tensor3D, g: tf.Tensor3D): tf.Tensor1D {
  const [, t, din] = a.shape;
  const dout = g.shape[2];
  if (kernelWins()) return tf.tensor1d(smallSqNorms(outerBatch(a, g)));
  return tf.tidy(() => {
    if (2 * t * t <= din * dout) {
      const gram = (x: tf.Tensor3D) => tf.matMul(x, tf.transpose(x, [0, 2, 1]) as tf.Tensor3D);
      return tf.sum(tf.mul(gram(a), gram(g)), [1, 2]) as tf.Tensor1D;
    }
    return tf.sum(tf.square(tf.matMul(tf.transpose(a, [0, 2, 1]) as tf.Tensor3D, g)), [1, 2]) as tf.Tensor1D;
  });
}

/**
 * `perExampleOuterSqNorm` (and with `bias`, `perExampleTokenSumSqNorm(g)`: the layer's bias), and on
 * wasm/cpu also each example's a_iᵀ g_i (and Σ_t g_it) kept in the kernel's memory (within its
 * budget) so that the clipped sums after it (`keptOuterSum`, `keptBiasSum`) are weighted sums of kept
 * products instead of a second pass of products. On wasm/cpu it is one kernel call on one copy of a
 * and g. `kept` is null when nothing was kept; else the caller releases it.
 */
export function perExampleOuterSqNormKeeping(
  a: tf.Tensor3D,
  g: tf.Tensor3D,
  o: { bias?: boolean } = {},
): { norms: tf.Tensor1D; biasNorms: tf.Tensor1D | null; kept: KeptProducts | null } {
  if (!kernelWins())
    return {
      norms: perExampleOuterSqNorm(a, g),
      biasNorms: o.bias ? perExampleTokenSumSqNorm(g) : null,
      kept: null,
    };
  const { norms, biasNorms, kept } = smallSqNormsKeeping(outerBatch(a, g), { bias: o.bias });
  return { norms: tf.tensor1d(norms), biasNorms: biasNorms ? tf.tensor1d(biasNorms) : null, kept };
}

/** Σ_i w_i a_iᵀ g_i [Din, Dout] from products kept by `perExampleOuterSqNormKeeping` (w null: plain sum). */
export function keptOuterSum(kept: KeptProducts, w: Float32Array | null): tf.Tensor2D {
  return smallKeptWeightedSum(kept, w, (view) => tensorFrom<tf.Tensor2D>(view, [kept.m, kept.p]));
}

/** Σ_i w_i Σ_t g_it [Dout] from the bias sums kept with the products (`kept.bias`). */
export function keptBiasSum(kept: KeptProducts, w: Float32Array | null): tf.Tensor1D {
  return smallKeptBiasSum(kept, w, (view) => tensorFrom<tf.Tensor1D>(view, [kept.p]));
}

/**
 * ‖Σ_t g_it‖² for every i of g[N,T,D]: the squared norm of example i's bias gradient. On wasm/cpu
 * one kernel call (1ᵀg_i per example, summed in registers); elsewhere tfjs's reductions.
 */
export function perExampleTokenSumSqNorm(g: tf.Tensor3D): tf.Tensor1D {
  const [n, t, d] = g.shape;
  if (!kernelWins()) return tf.tidy(() => tf.sum(tf.square(tf.sum(g, 1)), 1) as tf.Tensor1D);
  const ones = new Float32Array(n * t).fill(1);
  return tf.tensor1d(smallSqNorms({ n, m: 1, k: t, p: d, a: ones, b: valuesOf(g) }));
}

/**
 * Σ_i w_i Σ_t g_it ([D]; w null: plain sum) — the clipped sum of a bias. On wasm/cpu one kernel call
 * (Σ_i w_i 1ᵀg_i), with no weighted copy of g and no reduction over the middle axis (tfjs-wasm
 * transposes for it); elsewhere tfjs's ops.
 */
export function weightedTokenSum(g: tf.Tensor3D, w: Float32Array | null): tf.Tensor1D {
  const [n, t, d] = g.shape;
  if (!kernelWins())
    return tf.tidy(
      () => tf.sum(w ? tf.mul(g, tf.reshape(tf.tensor1d(w), [-1, 1, 1])) : g, [0, 1]) as tf.Tensor1D,
    );
  const ones = new Float32Array(n * t).fill(1);
  return smallWeightedSum({ n, m: 1, k: t, p: d, a: ones, b: valuesOf(g) }, w, (view) =>
    tensorFrom<tf.Tensor1D>(view, [d]),
  );
}

/**
 * Σ_i w_i a_iᵀ g_i as a [Din, Dout] weight gradient (w null: plain sum) — the clipped sum at a
 * linear site. On wasm/cpu the small-product kernel accumulates it example by example; elsewhere one
 * 2-D product (a as [N·T,Din])ᵀ·(w⊙g), with the transpose on the narrower operand.
 */
export function weightedOuterSum(a: tf.Tensor3D, g: tf.Tensor3D, w: Float32Array | null): tf.Tensor2D {
  const din = a.shape[2];
  const dout = g.shape[2];
  if (kernelWins())
    return smallWeightedSum(outerBatch(a, g), w, (view) => tensorFrom<tf.Tensor2D>(view, [din, dout]));
  return tf.tidy(() => {
    const gw = tf.reshape(w ? tf.mul(g, tf.reshape(tf.tensor1d(w), [-1, 1, 1])) : g, [
      -1,
      dout,
    ]) as tf.Tensor2D;
    const a2 = tf.reshape(a, [-1, din]) as tf.Tensor2D;
    if (dout < din) return tf.transpose(tf.matMul(tf.transpose(gw), a2)) as tf.Tensor2D;
    return tf.matMul(tf.transpose(a2), gw);
  });
}

/**
 * Batched a[...,M,K] · b[...,K,N] (same leading dims) with a gradient; `transposeB`: b is stored
 * [...,N,K] and read transposed (attention's q·kᵀ without a Transpose of k). The gradient's products
 * read their transposes in place too.
 */
export function bmm<T extends tf.Tensor>(a: T, b: T, o: { transposeB?: boolean } = {}): T {
  const tb = o.transposeB === true;
  const f = customGrad((x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, y]);
    return {
      value: batchMatMul(x, y, { transposeB: tb }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor, tf.Tensor];
        // C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC.  C = A·Bsᵀ: dA = dC·Bs, dBs = dCᵀ·A.
        return tb
          ? [batchMatMul(dy, sy), batchMatMul(dy, sx, { transposeA: true })]
          : [batchMatMul(dy, sy, { transposeB: true }), batchMatMul(sx, dy, { transposeA: true })];
      },
    };
  });
  return f(a, b) as T;
}

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
