/**
 * A backbone for fine-tuning: the frozen GPT-2 weights together with the tokenizer that was trained
 * with them (same directory: config.json, model.safetensors, vocab.json, merges.txt).
 */
import { join } from "node:path";
import { type GPT2, loadGPT2, ModelError, missingBackboneFiles } from "@memarc/models";
import { BpeTokenizer } from "@memarc/tokenizer";

export interface Backbone {
  model: GPT2;
  /** Needed to bind/evaluate texts; a benchmark on pre-tokenized batches can do without. */
  tokenizer?: BpeTokenizer;
  /** Where it was loaded from (undefined for in-memory backbones). */
  dir?: string;
}

export async function loadBackbone(
  dir: string,
): Promise<Backbone & { tokenizer: BpeTokenizer; dir: string }> {
  const missing = missingBackboneFiles(dir);
  if (missing.length)
    throw new ModelError(
      "E_NO_BACKBONE",
      `${dir} is not a backbone directory: missing ${missing.join(", ")}`,
    );
  const model = await loadGPT2(dir);
  const tokenizer = BpeTokenizer.fromFiles(join(dir, "vocab.json"), join(dir, "merges.txt"));
  if (tokenizer.vocabSize > model.config.vocabSize) {
    model.dispose();
    throw new ModelError(
      "E_WEIGHTS",
      `${dir}: tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${model.config.vocabSize}`,
    );
  }
  return { model, tokenizer, dir };
}
