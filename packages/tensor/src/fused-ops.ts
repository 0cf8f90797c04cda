/**
 * Layer normalisation, exact GELU and multi-head attention as differentiable tfjs ops. On wasm and
 * cpu each direction is one call into MemArc's kernels (fused-kernels.ts) instead of a chain of
 * 5–20 small tfjs kernels; on native backends (tfjs-node, WebGPU) the same functions run as tfjs
 * composites. Both paths compute the same function and gradient (tests compare them).
 */
import * as tf from "@tensorflow/tfjs";
import { customGrad } from "./custom.js";
import {
  type AttentionBias,
  type AttentionShape,
  attentionBackward,
  attentionForward,
  geluBackward,
  geluForward,
  layerNormBackward,
  layerNormForward,
} from "./fused-kernels.js";
import { kernelWins, tensorFrom, valuesOf } from "./kernel-io.js";
import { bmm } from "./matmul.js";

/**
 * (x − mean)/√(var + eps) over the last axis (LayerNorm without its gain and bias), with the closed-
 * form gradient. It saves only its output and one number per row.
 */
export function normalizeLastAxis<T extends tf.Tensor>(x: T, eps: number): T {
  if (!kernelWins()) {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))) as T;
    });
  }
  const shape = x.shape;
  const d = shape[shape.length - 1]!;
  const f = customGrad((xx: tf.Tensor, save: tf.GradSaveFunc) => {
    const [xhat, rstd] = layerNormForward(valuesOf(xx), d, eps, (h, r) => [
      tensorFrom(h, shape),
      tensorFrom(r, [r.length]),
    ]) as [tf.Tensor, tf.Tensor];
    save([xhat, rstd]);
    return {
      value: xhat,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [h, r] = saved as [tf.Tensor, tf.Tensor];
        return layerNormBackward(valuesOf(dy), valuesOf(h), valuesOf(r), (dx) => tensorFrom(dx, shape));
      },
    };
  });
  return f(x) as T;
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** BERT's exact "gelu": x·Φ(x) = 0.5·x·(1 + erf(x/√2)); gradient Φ(x) + x·φ(x). Saves only x. */
export function geluErf<T extends tf.Tensor>(x: T): T {
  const kernel = kernelWins();
  const f = customGrad((xx: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xx]);
    const value = kernel
      ? geluForward(valuesOf(xx), (y) => tensorFrom(y, xx.shape))
      : tf.tidy(() => tf.mul(tf.mul(0.5, xx), tf.add(1, tf.erf(tf.mul(xx, INV_SQRT2)))));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const z = saved[0]!;
        if (kernel) return geluBackward(valuesOf(z), valuesOf(dy), (dx) => tensorFrom(dx, z.shape));
        return tf.tidy(() => {
          const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(z, INV_SQRT2))));
          const pdf = tf.mul(INV_SQRT_2PI, tf.exp(tf.mul(-0.5, tf.square(z))));
          return tf.mul(dy, tf.add(cdf, tf.mul(z, pdf)));
        });
      },
    };
  });
  return f(x) as T;
}

function splitHeads(x: tf.Tensor3D, h: number): tf.Tensor4D {
  const [b, t, d] = x.shape;
  return tf.transpose(tf.reshape(x, [b, t, h, d / h]), [0, 2, 1, 3]);
}

/** The composite form: heads split by transposes, batched products, tfjs's softmax. */
function attentionComposite(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  nHead: number,
  bias: tf.Tensor4D,
) {
  const [b, t, inner] = q.shape;
  const hd = inner / nHead;
  const scores = tf.add(
    tf.mul(bmm(splitHeads(q, nHead), splitHeads(k, nHead), { transposeB: true }), 1 / Math.sqrt(hd)),
    bias,
  );
  const ctx = bmm(tf.softmax(scores), splitHeads(v, nHead));
  return tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [b, t, inner]) as tf.Tensor3D;
}

/** The bias as the kernel takes it: [B,1,1,T] → one value per key, [B,1,T,T] → full; else null. */
function kernelBias(bias: tf.Tensor4D, b: number, t: number): AttentionBias | null {
  const [bb, one, rows, cols] = bias.shape;
  if (bb !== b || one !== 1 || cols !== t || (rows !== 1 && rows !== t)) return null;
  return { kind: rows === 1 ? "keys" : "full", values: valuesOf(bias).slice() };
}

/**
 * softmax(q·kᵀ/√d_head + bias)·v over `nHead` heads; q, k, v [B,T,inner] → [B,T,inner]. `bias` is
 * additive and constant (no gradient): [B,1,1,T] (padding) or [B,1,T,T] (causal). On wasm/cpu one
 * kernel call per direction reads the heads by stride and saves the probabilities [B,heads,T,T].
 */
export function multiHeadAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  nHead: number,
  bias: tf.Tensor4D,
): tf.Tensor3D {
  const [b, t, inner] = q.shape;
  const kb = kernelWins() ? kernelBias(bias, b, t) : null;
  if (!kb) return attentionComposite(q, k, v, nHead, bias);
  const s: AttentionShape = { b, t, heads: nHead, headDim: inner / nHead };
  const f = customGrad((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, save: tf.GradSaveFunc) => {
    const [probs, ctx] = attentionForward(s, valuesOf(qq), valuesOf(kk), valuesOf(vv), kb, (p, c) => [
      tensorFrom(p, [b, nHead, t, t]),
      tensorFrom(c, [b, t, inner]),
    ]) as [tf.Tensor, tf.Tensor];
    save([qq, kk, vv, probs]);
    return {
      value: ctx,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return attentionBackward(
          s,
          valuesOf(sq),
          valuesOf(sk),
          valuesOf(sv),
          valuesOf(sp),
          valuesOf(dy),
          (dq, dk, dv) => [
            tensorFrom(dq, [b, t, inner]),
            tensorFrom(dk, [b, t, inner]),
            tensorFrom(dv, [b, t, inner]),
          ],
        );
      },
    };
  });
  return f(q, k, v) as tf.Tensor3D;
}
