/** The backbone a coordinator serves next to the page (model/…), fetched and built in memory. */
import { type Backbone, type BackboneFiles, backboneFromFiles } from "@memarc/train";
import type { RunInfo } from "./run-info.js";

export async function fetchBackbone(model: RunInfo["model"], base: string): Promise<Backbone> {
  if (!model)
    throw Object.assign(new Error("the coordinator serves no backbone for this scheme"), { code: "E_MODEL" });
  const url = (f: string) => new URL(`model/${f}`, base).href;
  const get = async (f: string) => {
    const r = await fetch(url(f));
    if (!r.ok)
      throw Object.assign(new Error(`cannot fetch ${url(f)}: HTTP ${r.status}`), { code: "E_MODEL" });
    return r;
  };
  const text = async (f: string) => (model.files.includes(f) ? (await get(f)).text() : undefined);
  const [config, weights, vocabTxt, vocabJson, mergesTxt] = await Promise.all([
    get("config.json").then((r) => r.json() as Promise<Record<string, unknown>>),
    get("model.safetensors").then(async (r) => new Uint8Array(await r.arrayBuffer())),
    text("vocab.txt"),
    text("vocab.json"),
    text("merges.txt"),
  ]);
  const files: BackboneFiles = {
    config,
    weights,
    ...(vocabTxt !== undefined ? { vocabTxt } : {}),
    ...(vocabJson !== undefined ? { vocabJson } : {}),
    ...(mergesTxt !== undefined ? { mergesTxt } : {}),
    source: new URL("model", base).href,
  };
  // The files stay with the backbone: DP-step workers (clip-worker.ts) rebuild it from them.
  return { ...backboneFromFiles(files), files };
}
