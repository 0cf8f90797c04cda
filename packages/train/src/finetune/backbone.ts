/**
 * A backbone for fine-tuning: frozen pretrained weights together with the tokenizer they were
 * trained with, from the files of one Hugging Face directory. config.json's `model_type` picks both:
 * - "gpt2": GPT-2 weights + byte-level BPE (vocab.json, merges.txt);
 * - "bert": BERT weights (e.g. all-MiniLM-L6-v2) + WordPiece (vocab.txt; [CLS] … [SEP], [PAD] = 0);
 * - "roberta": RoBERTa weights (BERT's network) + byte-level BPE (vocab.json, merges.txt; <s> … </s>).
 * backboneFromFiles builds one from the files' contents (what a browser node fetches);
 * node/backbone-dir.ts's loadBackbone reads them from a directory.
 */
import {
  architectureOf,
  type BackboneModel,
  ModelError,
  backboneFromFiles as modelFromFiles,
} from "@memarc/models";
import {
  BpeTokenizer,
  parseMergesTxt,
  parseVocabJson,
  parseVocabTxt,
  RobertaTokenizer,
  WordPieceTokenizer,
} from "@memarc/tokenizer";
import type { TextTokenizer } from "../tokenized.js";

export interface Backbone {
  model: BackboneModel;
  /** Needed to bind/evaluate texts; a benchmark on pre-tokenized batches can do without. */
  tokenizer?: TextTokenizer;
  /** Where it was loaded from (undefined for in-memory backbones). */
  dir?: string;
  /**
   * The files' contents it was built from, kept by a host without a directory (a browser node) so
   * that DP-step workers can rebuild it.
   */
  files?: BackboneFiles;
}

/** The contents of a backbone directory's files: config.json, model.safetensors, and its tokenizer's. */
export interface BackboneFiles {
  config: Record<string, unknown>;
  weights: Uint8Array;
  /** BERT: vocab.txt. */
  vocabTxt?: string;
  /** GPT-2 and RoBERTa: vocab.json and merges.txt. */
  vocabJson?: string;
  mergesTxt?: string;
  /** Names the source in error messages (a directory, a URL). */
  source?: string;
}

/** A backbone with its tokenizer from the files' contents. */
export function backboneFromFiles(f: BackboneFiles): Backbone & { tokenizer: TextTokenizer } {
  const source = f.source ?? "backbone";
  const architecture = architectureOf(f.config, `${source}/config.json`);
  const tokenizer = (): TextTokenizer => {
    if (architecture === "bert") {
      if (f.vocabTxt === undefined) throw new ModelError("E_NO_BACKBONE", `${source}: missing vocab.txt`);
      return WordPieceTokenizer.fromVocab(parseVocabTxt(f.vocabTxt), {}, `${source}/vocab.txt`);
    }
    if (f.vocabJson === undefined || f.mergesTxt === undefined)
      throw new ModelError("E_NO_BACKBONE", `${source}: missing vocab.json or merges.txt`);
    const vocab = parseVocabJson(f.vocabJson, `${source}/vocab.json`);
    const merges = parseMergesTxt(f.mergesTxt, `${source}/merges.txt`);
    return architecture === "roberta"
      ? RobertaTokenizer.fromJSON(vocab, merges, `${source}/vocab.json`)
      : BpeTokenizer.fromJSON(vocab, merges, {}, `${source}/vocab.json`);
  };
  const tok = tokenizer();
  const model = modelFromFiles(f.config, f.weights);
  if (tok.vocabSize > model.config.vocabSize) {
    model.dispose();
    throw new ModelError(
      "E_WEIGHTS",
      `${source}: tokenizer has ${tok.vocabSize} tokens but the model's vocabulary is ${model.config.vocabSize}`,
    );
  }
  return { model, tokenizer: tok };
}
