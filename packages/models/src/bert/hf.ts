/**
 * Hugging Face BERT and RoBERTa directories (config.json with model_type "bert" or "roberta" +
 * model.safetensors), e.g. sentence-transformers/all-MiniLM-L6-v2 or distilroberta-base. Names may
 * carry the "bert." / "roberta." prefix (…For… heads) or not (…Model); old TF-converted
 * LayerNorm.gamma/beta names are accepted. The pooler, task heads (cls.*, lm_head.*, classifier.*)
 * and the position_ids / token_type_ids buffers are not part of the encoder and are skipped; any
 * other unknown tensor is an error (a layout this loader does not understand). nn.Linear weights are
 * [out, in] in the file and transposed to [in, out] here. RoBERTa's position table loses its
 * `positionOffset` leading rows (config.ts says why) and saving writes them back as zeros (the row
 * at padding_idx is zero in every RoBERTa; row 0 is never read). Saving writes the …Model layout.
 */
import * as tf from "@tensorflow/tfjs";
import type { ParamMap } from "../core/backbone.js";
import { ModelError } from "../core/errors.js";
import { type NamedTensor, readSafetensors, writeSafetensors } from "../safetensors/safetensors.js";
import { bertConfigFromHF, bertConfigToHF } from "./config.js";
import { Bert } from "./model.js";
import { BERT_EMBEDDINGS, bertParamShapes, isLinearWeight } from "./params.js";

const SKIPPED = /^(pooler\.|cls\.|lm_head\.|classifier\.|embeddings\.(position_ids|token_type_ids)$)/;

/** The file's name for one of ours, normalised: no model prefix, LayerNorm gamma/beta → weight/bias. */
function canonical(raw: string): string {
  const prefix = ["bert.", "roberta."].find((p) => raw.startsWith(p));
  const name = prefix ? raw.slice(prefix.length) : raw;
  return name.replace(/LayerNorm\.gamma$/, "LayerNorm.weight").replace(/LayerNorm\.beta$/, "LayerNorm.bias");
}

/** A BERT (or RoBERTa) from config.json's object and model.safetensors' bytes (node/hf-dirs.ts reads them from a directory). */
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
  const offset = config.positionOffset ?? 0;
  for (const [name, ours] of bertParamShapes(config)) {
    const dropRows = name === BERT_EMBEDDINGS.position ? offset : 0;
    const shape = dropRows ? [ours[0]! + dropRows, ours[1]!] : ours;
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
        : tf.tensor(t.data.subarray(dropRows * (shape[1] ?? 0)), ours, "float32"),
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

/** config.json's text and model.safetensors' bytes in the BertModel (RobertaModel) layout. */
export async function bertToFiles(
  model: Bert,
  dtype: "F32" | "F16" = "F32",
): Promise<{ configJson: string; safetensors: Uint8Array }> {
  const tensors = new Map<string, NamedTensor>();
  const offset = model.config.positionOffset ?? 0;
  for (const [name, shape] of bertParamShapes(model.config)) {
    const linear = isLinearWeight(name);
    const t = linear ? tf.transpose(model.get(name)) : model.get(name);
    let data = (await t.data()) as Float32Array;
    let fileShape = linear ? [shape[1]!, shape[0]!] : shape;
    if (name === BERT_EMBEDDINGS.position && offset > 0) {
      const padded = new Float32Array(data.length + offset * shape[1]!);
      padded.set(data, offset * shape[1]!);
      data = padded;
      fileShape = [shape[0]! + offset, shape[1]!];
    }
    tensors.set(name, { shape: fileShape, data });
    if (linear) t.dispose();
  }
  return {
    configJson: `${JSON.stringify(bertConfigToHF(model.config), null, 2)}\n`,
    safetensors: writeSafetensors(tensors, { format: "pt" }, dtype),
  };
}
