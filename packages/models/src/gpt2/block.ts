/**
 * The GPT-2 transformer block, written once against the Tracer so every scheme (full backbone,
 * LoRA, narrow side blocks, reversible F) shares it: pre-LayerNorm, causal multi-head attention,
 * tanh-GELU MLP, residual connections.
 */
import * as tf from "@tensorflow/tfjs";
import { geluTanh } from "../core/activations.js";
import { multiHeadAttention } from "../core/attention.js";
import type { Tracer } from "../core/tracer.js";

export { geluTanh } from "../core/activations.js";

export function attention(
  tr: Tracer,
  x: tf.Tensor3D,
  prefix: string,
  nHead: number,
  bias: tf.Tensor4D,
): tf.Tensor3D {
  const qkv = tr.linear(x, `${prefix}.c_attn.weight`, `${prefix}.c_attn.bias`);
  const [q, k, v] = tf.split(qkv, 3, 2) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
  const merged = multiHeadAttention(q, k, v, nHead, bias);
  return tr.linear(merged, `${prefix}.c_proj.weight`, `${prefix}.c_proj.bias`);
}

export function mlp(tr: Tracer, x: tf.Tensor3D, prefix: string): tf.Tensor3D {
  const h = geluTanh(tr.linear(x, `${prefix}.c_fc.weight`, `${prefix}.c_fc.bias`)) as tf.Tensor3D;
  return tr.linear(h, `${prefix}.c_proj.weight`, `${prefix}.c_proj.bias`);
}

/** Where a block's parameters live and how it runs; `dropKey` seeds replayable dropout. */
export interface BlockOptions {
  /** Parameter name prefix, e.g. `h.3`. */
  prefix: string;
  nHead: number;
  /** LayerNorm epsilon. */
  eps: number;
  /** Additive attention bias (causal + padding mask). */
  bias: tf.Tensor4D;
  dropKey: number;
}

/** Residual branch of block `prefix`: block(x) − x. */
export function blockResidual(tr: Tracer, x: tf.Tensor3D, o: BlockOptions): tf.Tensor3D {
  const { prefix, eps, dropKey } = o;
  const a = tr.dropout(
    attention(tr, tr.layerNorm(x, `${prefix}.ln_1`, eps), `${prefix}.attn`, o.nHead, o.bias),
    dropKey * 2,
  );
  const mid = tf.add(x, a) as tf.Tensor3D;
  const m = tr.dropout(mlp(tr, tr.layerNorm(mid, `${prefix}.ln_2`, eps), `${prefix}.mlp`), dropKey * 2 + 1);
  return tf.add(a, m) as tf.Tensor3D;
}

export function block(tr: Tracer, x: tf.Tensor3D, o: BlockOptions): tf.Tensor3D {
  return tf.add(x, blockResidual(tr, x, o)) as tf.Tensor3D;
}
