/**
 * Any Hugging Face backbone directory: config.json's `model_type` picks the architecture ("gpt2" →
 * GPT-2, "bert" → BERT/MiniLM), so callers (`--model DIR`) need not know which one they hold.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadBert } from "./bert/hf.js";
import type { Architecture, BackboneModel } from "./core/backbone.js";
import { ModelError } from "./core/errors.js";
import { loadGPT2 } from "./gpt2/hf.js";

export const ARCHITECTURES: readonly Architecture[] = ["gpt2", "bert"];

/** The architecture named by `dir`/config.json's model_type. */
export async function readArchitecture(dir: string): Promise<Architecture> {
  const file = join(dir, "config.json");
  let j: unknown;
  try {
    j = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new ModelError("E_WEIGHTS", `cannot read ${file}: ${(err as Error).message}`);
  }
  const type = (j as Record<string, unknown> | null)?.["model_type"];
  if (!ARCHITECTURES.includes(type as Architecture))
    throw new ModelError(
      "E_CONFIG",
      `${file}: model_type ${JSON.stringify(type)} is not supported; expected one of ${ARCHITECTURES.join(", ")}`,
    );
  return type as Architecture;
}

/** Loads the backbone in `dir` with the architecture its config.json names. */
export async function loadBackboneModel(dir: string): Promise<BackboneModel> {
  return (await readArchitecture(dir)) === "bert" ? loadBert(dir) : loadGPT2(dir);
}
