/**
 * The BERT embedding and encoder layer, written once against the Tracer (like gpt2/block.ts) so the
 * backbone, full/LoRA training, the side network's pruned copies and the reversible coupling share
 * them. Post-LN: each sub-layer is LayerNorm(x + sublayer(x)); bidirectional attention (padding
 * mask only); exact erf-GELU.
 */
import * as tf from "@tensorflow/tfjs";
import { geluErf } from "../core/activations.js";
import { multiHeadAttention } from "../core/attention.js";
import type { Tracer } from "../core/tracer.js";
import { BERT_EMBEDDINGS } from "./params.js";

/** h_0 = LayerNorm(word[ids] + position[0..T) + token_type[0]). */
export function bertEmbeddings(tr: Tracer, ids: tf.Tensor2D, eps: number): tf.Tensor3D {
  const e = tr.embedInput(ids, BERT_EMBEDDINGS.word, BERT_EMBEDDINGS.position, BERT_EMBEDDINGS.tokenType);
  return tr.layerNorm(e, BERT_EMBEDDINGS.norm, eps);
}

/** One encoder layer on the parameters under `prefix`; `dropKey` seeds replayable dropout. */
export function bertLayer(
  tr: Tracer,
  x: tf.Tensor3D,
  prefix: string,
  nHead: number,
  eps: number,
  bias: tf.Tensor4D,
  dropKey: number,
): tf.Tensor3D {
  const p = `${prefix}.attention`;
  const q = tr.linear(x, `${p}.self.query.weight`, `${p}.self.query.bias`);
  const k = tr.linear(x, `${p}.self.key.weight`, `${p}.self.key.bias`);
  const v = tr.linear(x, `${p}.self.value.weight`, `${p}.self.value.bias`);
  const ctx = multiHeadAttention(q, k, v, nHead, bias);
  const a = tr.dropout(tr.linear(ctx, `${p}.output.dense.weight`, `${p}.output.dense.bias`), dropKey * 2);
  const mid = tr.layerNorm(tf.add(x, a) as tf.Tensor3D, `${p}.output.LayerNorm`, eps);
  const inner = geluErf(
    tr.linear(mid, `${prefix}.intermediate.dense.weight`, `${prefix}.intermediate.dense.bias`),
  ) as tf.Tensor3D;
  const o = tr.dropout(
    tr.linear(inner, `${prefix}.output.dense.weight`, `${prefix}.output.dense.bias`),
    dropKey * 2 + 1,
  );
  return tr.layerNorm(tf.add(mid, o) as tf.Tensor3D, `${prefix}.output.LayerNorm`, eps);
}
