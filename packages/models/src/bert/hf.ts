/**
 * Hugging Face BERT directories (config.json with model_type "bert" + model.safetensors), e.g.
 * sentence-transformers/all-MiniLM-L6-v2. Names may carry the "bert." prefix (BertFor… heads) or not
 * (BertModel); old TF-converted LayerNorm.gamma/beta names are accepted. The pooler, task heads
 * (cls.*) and the position_ids buffer are not part of the encoder and are skipped; any other
 * unknown tensor is an error (a layout this loader does not understand). nn.Linear weights are
 * [out, in] in the file and transposed to [in, out] here. Saving writes the BertModel layout.
 */
import * as tf from "@tensorflow/tfjs";
import type { ParamMap } from "../core/backbone.js";
import { ModelError } from "../core/errors.js";
import { type NamedTensor, readSafetensors, writeSafetensors } from "../safetensors/safetensors.js";
import { bertConfigFromHF, bertConfigToHF } from "./config.js";
import { Bert } from "./model.js";
import { bertParamShapes, isLinearWeight } from "./params.js";

const SKIPPED = /^(pooler\.|cls\.|embeddings\.position_ids$)/;

/** The file's name for one of ours, normalised: no "bert." prefix, LayerNorm gamma/beta → weight/bias. */
function canonical(raw: string): string {
  const name = raw.startsWith("bert.") ? raw.slice("bert.".length) : raw;
  return name.replace(/LayerNorm\.gamma$/, "LayerNorm.weight").replace(/LayerNorm\.beta$/, "LayerNorm.bias");
}

/** A BERT from config.json's object and model.safetensors' bytes (node/hf-dirs.ts reads them from a directory). */
export function bertFromFiles(configJson: Record<string, unknown>, safetensors: Uint8Array): Bert {
  const config = bertConfigFromHF(configJson);
  const file = readSafetensors(safetensors);
  const byName = new Map<string, NamedTensor>();
  for (const [raw, t] of file.tensors) {
    const name = canonical(raw);
    if (!SKIPPED.test(name)) byName.set(name, t);
  }
  const params: ParamMap = new Map();
  const fail = (msg: string): never => {
    for (const t of params.values()) t.dispose();
    throw new ModelError("E_WEIGHTS", msg);
  };
  const missing: string[] = [];
  for (const [name, shape] of bertParamShapes(config)) {
    const t = byName.get(name);
    if (!t) {
      missing.push(name);
      continue;
    }
    byName.delete(name);
    const linear = isLinearWeight(name);
    const want = linear ? [shape[1]!, shape[0]!] : shape; // torch Linear: [out, in]
    if (t.shape.join(",") !== want.join(","))
      fail(`${name}: shape [${t.shape}] in file, config implies [${want}]${linear ? " ([out, in])" : ""}`);
    params.set(
      name,
      linear
        ? tf.tidy(() => tf.transpose(tf.tensor2d(t.data, want as [number, number], "float32")))
        : tf.tensor(t.data, shape, "float32"),
    );
  }
  if (missing.length)
    fail(`model.safetensors lacks ${missing.length} tensors, e.g. ${missing.slice(0, 3).join(", ")}`);
  if (byName.size)
    fail(
      `model.safetensors has ${byName.size} tensors a ${config.nLayer}-layer BERT does not use, e.g. ` +
        [...byName.keys()].slice(0, 3).join(", "),
    );
  return new Bert(config, params);
}

/** config.json's text and model.safetensors' bytes in the BertModel layout. */
export async function bertToFiles(
  model: Bert,
  dtype: "F32" | "F16" = "F32",
): Promise<{ configJson: string; safetensors: Uint8Array }> {
  const tensors = new Map<string, NamedTensor>();
  for (const [name, shape] of bertParamShapes(model.config)) {
    const linear = isLinearWeight(name);
    const t = linear ? tf.transpose(model.get(name)) : model.get(name);
    tensors.set(name, {
      shape: linear ? [shape[1]!, shape[0]!] : shape,
      data: (await t.data()) as Float32Array,
    });
    if (linear) t.dispose();
  }
  return {
    configJson: `${JSON.stringify(bertConfigToHF(model.config), null, 2)}\n`,
    safetensors: writeSafetensors(tensors, { format: "pt" }, dtype),
  };
}
