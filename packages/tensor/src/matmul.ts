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

/** Batched a[...,M,K] · b[...,K,N] (same leading dims) with a transpose-flag-free gradient. */
export function bmm<T extends tf.Tensor>(a: T, b: T): T {
  const f = customGrad((x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, y]);
    return {
      value: tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor, tf.Tensor];
        return [
          tf.matMul(dy as tf.Tensor3D, swapLast(sy) as tf.Tensor3D),
          tf.matMul(swapLast(sx) as tf.Tensor3D, dy as tf.Tensor3D),
        ];
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
