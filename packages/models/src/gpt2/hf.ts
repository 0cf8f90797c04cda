/**
 * Hugging Face GPT-2 directories: config.json + model.safetensors. Tensor names may carry the
 * "transformer." prefix (GPT2LMHeadModel) or not (GPT2Model); attention mask buffers
 * (attn.bias, attn.masked_bias) are ignored and lm_head.weight is tied to wte. Saving writes the
 * GPT2LMHeadModel layout ("transformer." prefix, lm_head omitted as tied, format "pt").
 */
import * as tf from "@tensorflow/tfjs";
import type { ParamMap } from "../core/backbone.js";
import { ModelError } from "../core/errors.js";
import { type NamedTensor, readSafetensors, writeSafetensors } from "../safetensors/safetensors.js";
import { configFromHF, configToHF } from "./config.js";
import { GPT2 } from "./model.js";
import { gpt2ParamShapes } from "./params.js";

/** A GPT-2 from config.json's object and model.safetensors' bytes (node/hf-dirs.ts reads them from a directory). */
export function gpt2FromFiles(configJson: Record<string, unknown>, safetensors: Uint8Array): GPT2 {
  const config = configFromHF(configJson);
  const file = readSafetensors(safetensors);
  const byName = new Map<string, NamedTensor>();
  for (const [raw, t] of file.tensors) {
    const name = raw.startsWith("transformer.") ? raw.slice("transformer.".length) : raw;
    if (/\.attn\.(bias|masked_bias)$/.test(name) || name === "lm_head.weight") continue;
    byName.set(name, t);
  }
  const params: ParamMap = new Map();
  const missing: string[] = [];
  for (const [name, shape] of gpt2ParamShapes(config)) {
    const t = byName.get(name);
    if (!t) {
      missing.push(name);
      continue;
    }
    if (t.shape.join(",") !== shape.join(","))
      throw new ModelError("E_WEIGHTS", `${name}: shape [${t.shape}] in file, config implies [${shape}]`);
    params.set(name, tf.tensor(t.data, shape, "float32"));
    byName.delete(name);
  }
  if (missing.length) {
    for (const t of params.values()) t.dispose();
    throw new ModelError(
      "E_WEIGHTS",
      `model.safetensors lacks ${missing.length} tensors, e.g. ${missing.slice(0, 3).join(", ")}`,
    );
  }
  return new GPT2(config, params);
}

/** config.json's text and model.safetensors' bytes in the GPT2LMHeadModel layout. */
export async function gpt2ToFiles(
  model: GPT2,
  dtype: "F32" | "F16" = "F32",
): Promise<{ configJson: string; safetensors: Uint8Array }> {
  const tensors = new Map<string, NamedTensor>();
  for (const [name, shape] of gpt2ParamShapes(model.config)) {
    tensors.set(`transformer.${name}`, { shape, data: (await model.get(name).data()) as Float32Array });
  }
  return {
    configJson: `${JSON.stringify(configToHF(model.config), null, 2)}\n`,
    safetensors: writeSafetensors(tensors, { format: "pt" }, dtype),
  };
}
