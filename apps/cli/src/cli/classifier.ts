/**
 * A saved model directory opened for `predict` and `eval`: loaded (backbone checked against its
 * SHA-256), its frozen passes on the fastest engine (side), and texts turned into class
 * probabilities chunk by chunk so a large file never holds more than one chunk's features.
 */

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULT_MAX_CHARS, normalizeText, truncate } from "@memarc/data";
import { loadUserData } from "@memarc/data/node";
import { type LoadedModel, loadModelDir } from "@memarc/train/node";
import { UsageError } from "./errors.js";
import { frozenEngineFor } from "./frozen.js";
import { ROWS_PER_INFERENCE_THREAD } from "./threads.js";

/** Texts per chunk: side keeps (L+1)·T·d features per text in memory while it classifies a chunk. */
const CHUNK = 256;

export interface Classifier {
  loaded: LoadedModel;
  /** Engine of the frozen passes ("onnx" | "tfjs"), null for schemes that run the whole model. */
  engine: string | null;
  /** Worker threads `probabilities` uses for n texts (1: this thread alone). */
  threadsFor(n: number): number;
  /** Row-major [n, classes] class probabilities of `texts`, in order. */
  probabilities(
    texts: readonly string[],
    onProgress?: (done: number, total: number) => void,
  ): Promise<Float32Array>;
  dispose(): void;
}

export interface OpenClassifierOptions {
  log: (line: string) => void;
  /** Worker threads for lora/reversible/full forwards (at most one per ROWS_PER_INFERENCE_THREAD texts). */
  threads?: number;
}

export async function openClassifier(dir: string, opts: OpenClassifierOptions): Promise<Classifier> {
  const { log } = opts;
  const path = resolve(dir);
  if (!existsSync(path)) throw new UsageError(`--model: no such directory: ${path}`);
  const loaded = await loadModelDir(path);
  const { scheme, backbone, manifest } = loaded;
  const frozen =
    (manifest.scheme === "side" || manifest.scheme === "probe") && backbone
      ? (await frozenEngineFor(backbone, { log })).engine
      : undefined;
  const classes = manifest.classNames.length;
  const threadsFor = (n: number): number => {
    // side and probe run their frozen passes on ONNX Runtime (or tfjs) and a small head here.
    if (frozen || manifest.scheme === "logreg") return 1;
    const useful = Math.ceil(Math.min(n, CHUNK) / ROWS_PER_INFERENCE_THREAD);
    return Math.max(1, Math.min(opts.threads ?? 1, useful));
  };
  return {
    loaded,
    engine: frozen?.name ?? null,
    threadsFor,
    async probabilities(texts, onProgress) {
      const out = new Float32Array(texts.length * classes);
      const threads = threadsFor(texts.length);
      for (let s = 0; s < texts.length; s += CHUNK) {
        const chunk = texts.slice(s, s + CHUNK);
        const labels = new Int32Array(chunk.length); // unused by the probabilities
        const o = {
          contextLength: manifest.contextLength ?? 1,
          ...(frozen ? { frozen } : {}),
          ...(threads > 1 ? { threads } : {}),
        };
        await scheme.prepare(chunk, labels, o);
        out.set((await scheme.evaluate(chunk, labels, o)).probabilities, s * classes);
        scheme.forgetPrepared();
        onProgress?.(Math.min(texts.length, s + CHUNK), texts.length);
      }
      return out;
    },
    dispose() {
      scheme.dispose();
      backbone?.model.dispose();
    },
  };
}

/** --text values, cleaned as training texts were (normalised, cut to the same length). */
export function cleanTexts(texts: readonly string[]): string[] {
  return texts.map((t) => truncate(normalizeText(t), DEFAULT_MAX_CHARS));
}

/** A JSONL/CSV file of {text[, label]} records, labels mapped to the model's classes. */
export function readRecords(
  file: string,
  classNames: string[],
  labels: "required" | "optional",
): { texts: string[]; labels: Int32Array | null } {
  if (!existsSync(file)) throw new UsageError(`--data: no such file: ${file}`);
  const data = loadUserData(file, { classes: classNames, labelsOptional: labels === "optional" });
  const texts = data.examples.map((e) => e.text);
  const ids = Int32Array.from(data.examples, (e) => e.label);
  return { texts, labels: ids.every((y) => y >= 0) ? ids : null };
}
