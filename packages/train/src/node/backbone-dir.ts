/** A backbone from a Hugging Face directory on disk (backboneFromFiles does the rest). */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BACKBONE_FILES_BY_ARCHITECTURE, ModelError } from "@memarc/models";
import { readArchitecture, readConfigJson } from "@memarc/models/node";
import { TokenizerError } from "@memarc/tokenizer";
import { type Backbone, backboneFromFiles } from "../finetune/backbone.js";
import type { TextTokenizer } from "../tokenized.js";

export async function loadBackbone(
  dir: string,
): Promise<Backbone & { tokenizer: TextTokenizer; dir: string }> {
  if (!existsSync(join(dir, "config.json")))
    throw new ModelError(
      "E_NO_BACKBONE",
      `${dir} is not a backbone directory: missing config.json (a Hugging Face GPT-2, BERT or RoBERTa ` +
        "directory holds config.json, model.safetensors and its tokenizer files)",
    );
  const architecture = await readArchitecture(dir);
  const missing = BACKBONE_FILES_BY_ARCHITECTURE[architecture].filter((f) => !existsSync(join(dir, f)));
  if (missing.length)
    throw new ModelError(
      "E_NO_BACKBONE",
      `${dir} is not a ${architecture} backbone directory: missing ${missing.join(", ")}`,
    );
  const text = (name: string): string => {
    try {
      return readFileSync(join(dir, name), "utf8");
    } catch (err) {
      throw new TokenizerError("E_TOKENIZER_IO", `cannot read ${join(dir, name)}: ${(err as Error).message}`);
    }
  };
  const files =
    architecture === "bert"
      ? { vocabTxt: text("vocab.txt") }
      : { vocabJson: text("vocab.json"), mergesTxt: text("merges.txt") };
  const backbone = backboneFromFiles({
    config: await readConfigJson(dir),
    weights: new Uint8Array(readFileSync(join(dir, "model.safetensors"))),
    ...files,
    source: dir,
  });
  return { ...backbone, dir };
}
