/**
 * A Hugging Face model directory read for export: config.json and model.safetensors (F32/F16/BF16,
 * upcast to float32), with the architecture prefix some checkpoints carry ("bert.", "roberta.", "transformer.")
 * stripped so graph code can use the base model's names.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelError, readSafetensors } from "@memarc/models";

export interface HfTensor {
  shape: number[];
  data: Float32Array;
}

export interface HfWeights {
  dir: string;
  config: Record<string, unknown>;
  /** `model_type` from config.json ("bert", "gpt2", …). */
  modelType: string;
  /** SHA-256 of config.json + model.safetensors: what a cached export is keyed by. */
  sha256: string;
  get(name: string): HfTensor;
  has(name: string): boolean;
}

const PREFIXES = ["bert.", "roberta.", "transformer.", "model."];

export function readHfWeights(dir: string): HfWeights {
  let configText: string;
  let bytes: Uint8Array;
  try {
    configText = readFileSync(join(dir, "config.json"), "utf8");
    bytes = new Uint8Array(readFileSync(join(dir, "model.safetensors")));
  } catch (err) {
    throw new ModelError("E_WEIGHTS", `cannot read the model in ${dir}: ${(err as Error).message}`);
  }
  const config = JSON.parse(configText) as Record<string, unknown>;
  const file = readSafetensors(bytes);
  const byName = new Map<string, HfTensor>();
  for (const [raw, t] of file.tensors) {
    const prefix = PREFIXES.find((p) => raw.startsWith(p));
    byName.set(prefix ? raw.slice(prefix.length) : raw, { shape: [...t.shape], data: t.data });
  }
  const sha256 = createHash("sha256").update(configText).update(bytes).digest("hex");
  return {
    dir,
    config,
    modelType: String(config.model_type ?? "gpt2"),
    sha256,
    has: (name) => byName.has(name),
    get(name) {
      const t = byName.get(name);
      if (!t) throw new ModelError("E_WEIGHTS", `${dir}: model.safetensors has no tensor ${name}`);
      return t;
    },
  };
}

/** [rows, cols] → [cols, rows] (torch Linear stores [out, in]; the graph multiplies x·W). */
export function transpose2d(t: HfTensor): HfTensor {
  const [r, c] = t.shape as [number, number];
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j]!;
  return { shape: [c, r], data: out };
}

export function numberField(config: Record<string, unknown>, key: string, fallback?: number): number {
  const v = config[key] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new ModelError("E_CONFIG", `config.json: ${key} must be a number, got ${String(v)}`);
  return v;
}
