import type * as tf from "@tensorflow/tfjs";
import type { Tracer } from "../core/tracer.js";
import { attentionBias, block } from "../gpt2/block.js";
import type { GPT2Config } from "../gpt2/config.js";
import type { Batch } from "./types.js";

/** Embeddings → all blocks → ln_f through tracer `tr` (used by full and lora, which train through it). */
export function backboneFinal(tr: Tracer, c: GPT2Config, batch: Batch): tf.Tensor3D {
  const bias = attentionBias(batch.attentionMask);
  let h = tr.embedInput(batch.inputIds, "wte.weight", "wpe.weight");
  for (let i = 0; i < c.nLayer; i++) h = block(tr, h, `h.${i}`, c.nHead, c.layerNormEps, bias, i);
  const out = tr.layerNorm(h, "ln_f", c.layerNormEps);
  bias.dispose();
  return out;
}
