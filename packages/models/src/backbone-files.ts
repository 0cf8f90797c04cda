/** The files a backbone directory holds, per architecture (what a coordinator serves to browser nodes, what a loader checks). */
import type { Architecture } from "./core/backbone.js";

/** Files a GPT-2 backbone directory must hold to be loadable with its tokenizer. */
export const BACKBONE_FILES = ["config.json", "model.safetensors", "vocab.json", "merges.txt"] as const;

/**
 * The same per architecture: GPT-2 and RoBERTa have byte-level BPE (vocab.json, merges.txt), BERT
 * WordPiece (vocab.txt).
 */
export const BACKBONE_FILES_BY_ARCHITECTURE: Record<Architecture, readonly string[]> = {
  gpt2: BACKBONE_FILES,
  bert: ["config.json", "model.safetensors", "vocab.txt"],
  roberta: BACKBONE_FILES,
};
