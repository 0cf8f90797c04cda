import type * as tf from "@tensorflow/tfjs";
import type { BackboneModel } from "../core/backbone.js";
import type { Tracer } from "../core/tracer.js";
import type { Batch } from "./types.js";

/** Embeddings → all blocks → final through tracer `tr` (used by full and lora, which train through it). */
export function backboneFinal(tr: Tracer, bb: BackboneModel, batch: Batch): tf.Tensor3D {
  const bias = bb.attentionBias(batch.attentionMask);
  let h = bb.embed(tr, batch.inputIds);
  for (let i = 0; i < bb.config.nLayer; i++) h = bb.block(tr, h, bb.blockRef(i), bias, i);
  const out = bb.final(tr, h);
  bias.dispose();
  return out;
}
