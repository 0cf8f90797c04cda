/** Hugging Face model directories on disk (config.json + model.safetensors): load and save. */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bertFromFiles, bertToFiles } from "../bert/hf.js";
import type { Bert } from "../bert/model.js";
import type { Architecture, BackboneModel } from "../core/backbone.js";
import { ModelError } from "../core/errors.js";
import { gpt2FromFiles, gpt2ToFiles } from "../gpt2/hf.js";
import type { GPT2 } from "../gpt2/model.js";
import { architectureOf, backboneFromFiles } from "../load-backbone.js";

/** `dir`/config.json as an object (E_WEIGHTS when unreadable). */
export async function readConfigJson(dir: string): Promise<Record<string, unknown>> {
  const file = join(dir, "config.json");
  try {
    return JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new ModelError("E_WEIGHTS", `cannot read ${file}: ${(err as Error).message}`);
  }
}

async function readWeights(dir: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(join(dir, "model.safetensors")));
}

/** The architecture named by `dir`/config.json's model_type. */
export async function readArchitecture(dir: string): Promise<Architecture> {
  return architectureOf(await readConfigJson(dir), join(dir, "config.json"));
}

/** Loads the backbone in `dir` with the architecture its config.json names. */
export async function loadBackboneModel(dir: string): Promise<BackboneModel> {
  const config = await readConfigJson(dir);
  architectureOf(config, join(dir, "config.json"));
  return backboneFromFiles(config, await readWeights(dir));
}

export async function loadBert(dir: string): Promise<Bert> {
  return bertFromFiles(await readConfigJson(dir), await readWeights(dir));
}

export async function loadGPT2(dir: string): Promise<GPT2> {
  return gpt2FromFiles(await readConfigJson(dir), await readWeights(dir));
}

async function writeDir(dir: string, files: { configJson: string; safetensors: Uint8Array }): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "config.json"), files.configJson);
  await writeFile(join(dir, "model.safetensors"), files.safetensors);
}

export async function saveBert(model: Bert, dir: string, dtype: "F32" | "F16" = "F32"): Promise<void> {
  await writeDir(dir, await bertToFiles(model, dtype));
}

export async function saveGPT2(model: GPT2, dir: string, dtype: "F32" | "F16" = "F32"): Promise<void> {
  await writeDir(dir, await gpt2ToFiles(model, dtype));
}
