/**
 * Picks the frozen-pass engine: `MEMARC_INFERENCE=auto|onnx|tfjs` (or an explicit request).
 * auto: ONNX Runtime when it loads, else tfjs with the reason; an explicit "onnx" that cannot load
 * is an error — silently running several times slower is worse than failing loudly.
 */
import type { BackboneModel } from "@memarc/models";
import { type FrozenEngine, InferenceError, type InferenceRequest, parseInferenceRequest } from "./engine.js";
import { defaultThreads, OnnxFrozenEngine } from "./onnx-engine.js";
import { TfjsFrozenEngine } from "./tfjs-engine.js";

export interface EngineChoice {
  engine: FrozenEngine;
  requested: InferenceRequest;
  /** Why ONNX Runtime was not used (auto fell back), else null. */
  fallbackReason: string | null;
}

export interface SelectEngineOptions {
  /** The model directory (config.json + model.safetensors) the engine runs. */
  dir: string;
  /** The same backbone, already loaded on tfjs (for the fallback). */
  model: BackboneModel;
  request?: string;
  threads?: number;
  /** Where exported graphs are cached (default: next to the weights). */
  cacheDir?: string;
  /** Test hook: pretend ONNX Runtime failed to load with this message. */
  simulateOnnxFailure?: string;
}

export async function selectFrozenEngine(o: SelectEngineOptions): Promise<EngineChoice> {
  const requested = parseInferenceRequest(o.request ?? process.env.MEMARC_INFERENCE);
  if (requested === "tfjs") return { engine: new TfjsFrozenEngine(o.model), requested, fallbackReason: null };
  try {
    if (o.simulateOnnxFailure) throw new Error(o.simulateOnnxFailure);
    const ort = await import("onnxruntime-node");
    const engine = await OnnxFrozenEngine.create(ort, o.dir, {
      threads: o.threads ?? defaultThreads(),
      ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    });
    return { engine, requested, fallbackReason: null };
  } catch (err) {
    const reason = `ONNX Runtime unavailable: ${(err as Error).message}`;
    if (requested === "onnx") throw new InferenceError(`MEMARC_INFERENCE=onnx: ${reason}`);
    return { engine: new TfjsFrozenEngine(o.model), requested, fallbackReason: reason };
  }
}

export interface InferenceInfo {
  requested: InferenceRequest;
  /** The engine frozen passes will use: "onnx" when ONNX Runtime loads (and was not refused), else "tfjs". */
  engine: "onnx" | "tfjs";
  /** ONNX Runtime's execution providers, when it loads. */
  providers: string[];
  threads: number;
  fallbackReason: string | null;
}

/** What `selectFrozenEngine` would pick, without loading a model (for `memarc backend`). */
export async function inferenceInfo(request?: string): Promise<InferenceInfo> {
  const requested = parseInferenceRequest(request ?? process.env.MEMARC_INFERENCE);
  const threads = defaultThreads();
  if (requested === "tfjs")
    return { requested, engine: "tfjs", providers: [], threads: 1, fallbackReason: null };
  try {
    const ort = await import("onnxruntime-node");
    const providers = ort.listSupportedBackends().map((b) => b.name);
    return { requested, engine: "onnx", providers, threads, fallbackReason: null };
  } catch (err) {
    const reason = `ONNX Runtime unavailable: ${(err as Error).message}`;
    if (requested === "onnx") throw new InferenceError(`MEMARC_INFERENCE=onnx: ${reason}`);
    return { requested, engine: "tfjs", providers: [], threads: 1, fallbackReason: reason };
  }
}
