/**
 * A backbone for fine-tuning: frozen pretrained weights together with the tokenizer they were
 * trained with, from one Hugging Face directory. config.json's `model_type` picks both:
 * - "gpt2": GPT-2 weights + byte-level BPE (vocab.json, merges.txt);
 * - "bert": BERT weights (e.g. all-MiniLM-L6-v2) + WordPiece (vocab.txt; [CLS] … [SEP], [PAD] = 0).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  type BackboneModel,
  loadBert,
  loadGPT2,
  ModelError,
  missingBackboneFiles,
  readArchitecture,
} from "@memarc/models";
import { BpeTokenizer, WordPieceTokenizer } from "@memarc/tokenizer";
import type { TextTokenizer } from "../tokenized.js";

export interface Backbone {
  model: BackboneModel;
  /** Needed to bind/evaluate texts; a benchmark on pre-tokenized batches can do without. */
  tokenizer?: TextTokenizer;
  /** Where it was loaded from (undefined for in-memory backbones). */
  dir?: string;
}

export async function loadBackbone(
  dir: string,
): Promise<Backbone & { tokenizer: TextTokenizer; dir: string }> {
  if (!existsSync(join(dir, "config.json")))
    throw new ModelError(
      "E_NO_BACKBONE",
      `${dir} is not a backbone directory: missing config.json (a Hugging Face GPT-2 or BERT ` +
        "directory holds config.json, model.safetensors and its tokenizer files)",
    );
  const architecture = await readArchitecture(dir);
  const missing = missingBackboneFiles(dir, architecture);
  if (missing.length)
    throw new ModelError(
      "E_NO_BACKBONE",
      `${dir} is not a ${architecture} backbone directory: missing ${missing.join(", ")}`,
    );
  const model: BackboneModel = architecture === "bert" ? await loadBert(dir) : await loadGPT2(dir);
  let tokenizer: TextTokenizer;
  try {
    tokenizer =
      architecture === "bert"
        ? WordPieceTokenizer.fromFiles(join(dir, "vocab.txt"))
        : BpeTokenizer.fromFiles(join(dir, "vocab.json"), join(dir, "merges.txt"));
  } catch (err) {
    model.dispose();
    throw err;
  }
  if (tokenizer.vocabSize > model.config.vocabSize) {
    model.dispose();
    throw new ModelError(
      "E_WEIGHTS",
      `${dir}: tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${model.config.vocabSize}`,
    );
  }
  return { model, tokenizer, dir };
}
