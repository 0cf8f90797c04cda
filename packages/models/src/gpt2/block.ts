/**
 * The GPT-2 transformer block, written once against the Tracer so every scheme (full backbone,
 * LoRA, narrow side blocks, reversible F) shares it: pre-LayerNorm, causal multi-head attention,
 * tanh-GELU MLP, residual connections.
 */
import { bmm, customGrad, transposeLast } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import type { Tracer } from "../core/tracer.js";

/** Additive attention bias [B,1,T,T]: 0 where query t may see key s (s ≤ t and s is a real token), else -1e9. */
export function attentionBias(mask: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, t] = mask.shape;
    const causal = tf.linalg.bandPart(tf.ones([t, t]), -1, 0); // lower triangle incl. diagonal
    const keys = tf.reshape(mask, [b, 1, 1, t]);
    const allowed = tf.mul(causal, keys);
    return tf.mul(tf.sub(1, allowed), -1e9) as tf.Tensor4D;
  });
}

const GELU_C = Math.sqrt(2 / Math.PI);
const tanhArg = (x: tf.Tensor) =>
  tf.tanh(tf.mul(GELU_C, tf.add(x, tf.mul(0.044715, tf.mul(tf.square(x), x)))));

/**
 * GPT-2's "gelu_new": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), with a hand-written gradient
 * that saves only x: autodiff of the composite would keep ~7 [B,T,4d] intermediates per MLP.
 */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  const f = customGrad((xx: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xx]);
    return {
      value: tf.tidy(() => tf.mul(tf.mul(0.5, xx), tf.add(1, tanhArg(xx)))),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const z = saved[0]!;
          const t = tanhArg(z);
          const du = tf.mul(GELU_C, tf.add(1, tf.mul(3 * 0.044715, tf.square(z))));
          const d = tf.add(
            tf.mul(0.5, tf.add(1, t)),
            tf.mul(tf.mul(0.5, z), tf.mul(tf.sub(1, tf.square(t)), du)),
          );
          return tf.mul(dy, d);
        }),
    };
  });
  return f(x);
}

function splitHeads(x: tf.Tensor3D, h: number): tf.Tensor4D {
  const [b, t, d] = x.shape;
  return tf.transpose(tf.reshape(x, [b, t, h, d / h]), [0, 2, 1, 3]);
}

export function attention(
  tr: Tracer,
  x: tf.Tensor3D,
  prefix: string,
  nHead: number,
  bias: tf.Tensor4D,
): tf.Tensor3D {
  const qkv = tr.linear(x, `${prefix}.c_attn.weight`, `${prefix}.c_attn.bias`);
  const [q, k, v] = tf.split(qkv, 3, 2) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
  const [b, t, inner] = q.shape;
  const hd = inner / nHead;
  const kt = transposeLast(splitHeads(k, nHead)) as tf.Tensor4D;
  const scores = tf.add(tf.mul(bmm(splitHeads(q, nHead), kt), 1 / Math.sqrt(hd)), bias);
  const probs = tf.softmax(scores);
  const ctx = bmm(probs, splitHeads(v, nHead));
  const merged = tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [b, t, inner]) as tf.Tensor3D;
  return tr.linear(merged, `${prefix}.c_proj.weight`, `${prefix}.c_proj.bias`);
}

export function mlp(tr: Tracer, x: tf.Tensor3D, prefix: string): tf.Tensor3D {
  const h = geluTanh(tr.linear(x, `${prefix}.c_fc.weight`, `${prefix}.c_fc.bias`)) as tf.Tensor3D;
  return tr.linear(h, `${prefix}.c_proj.weight`, `${prefix}.c_proj.bias`);
}

/** Residual branch of block `prefix`: block(x) − x. `dropKey` seeds replayable dropout. */
export function blockResidual(
  tr: Tracer,
  x: tf.Tensor3D,
  prefix: string,
  nHead: number,
  eps: number,
  bias: tf.Tensor4D,
  dropKey: number,
): tf.Tensor3D {
  const a = tr.dropout(
    attention(tr, tr.layerNorm(x, `${prefix}.ln_1`, eps), `${prefix}.attn`, nHead, bias),
    dropKey * 2,
  );
  const mid = tf.add(x, a) as tf.Tensor3D;
  const m = tr.dropout(mlp(tr, tr.layerNorm(mid, `${prefix}.ln_2`, eps), `${prefix}.mlp`), dropKey * 2 + 1);
  return tf.add(a, m) as tf.Tensor3D;
}

export function block(
  tr: Tracer,
  x: tf.Tensor3D,
  prefix: string,
  nHead: number,
  eps: number,
  bias: tf.Tensor4D,
  dropKey: number,
): tf.Tensor3D {
  return tf.add(x, blockResidual(tr, x, prefix, nHead, eps, bias, dropKey)) as tf.Tensor3D;
}
