/**
 * Any Hugging Face backbone: config.json's `model_type` picks the architecture ("gpt2" → GPT-2,
 * "bert" → BERT/MiniLM, "roberta" → RoBERTa), so callers (`--model DIR`, a browser node fetching the files) need not know
 * which one they hold. node/hf-dirs.ts reads the same files from a directory.
 */
import { bertFromFiles } from "./bert/hf.js";
import type { Architecture, BackboneModel } from "./core/backbone.js";
import { ModelError } from "./core/errors.js";
import { gpt2FromFiles } from "./gpt2/hf.js";

export const ARCHITECTURES: readonly Architecture[] = ["gpt2", "bert", "roberta"];

/** The architecture named by a config.json object's model_type; `source` names it in errors. */
export function architectureOf(config: unknown, source = "config.json"): Architecture {
  const type = (config as Record<string, unknown> | null)?.["model_type"];
  if (!ARCHITECTURES.includes(type as Architecture))
    throw new ModelError(
      "E_CONFIG",
      `${source}: model_type ${JSON.stringify(type)} is not supported; expected one of ${ARCHITECTURES.join(", ")}`,
    );
  return type as Architecture;
}

/** The backbone that config.json's object and model.safetensors' bytes describe. */
export function backboneFromFiles(config: Record<string, unknown>, safetensors: Uint8Array): BackboneModel {
  return architectureOf(config) === "gpt2"
    ? gpt2FromFiles(config, safetensors)
    : bertFromFiles(config, safetensors);
}
