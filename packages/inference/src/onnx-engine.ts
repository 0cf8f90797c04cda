/**
 * The frozen backbone on ONNX Runtime (CPU execution provider, bundled in onnxruntime-node): the
 * exported graph is cached next to the weights (`.memarc-onnx/`, keyed by the weights' SHA-256 and
 * the exporter's version, so changed weights are re-exported) and run with `threads` intra-op
 * threads. Inputs and outputs cross as typed arrays.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type * as Ort from "onnxruntime-node";
import type { FrozenEngine, FrozenOutputs } from "./engine.js";
import { FROZEN_GRAPH_VERSION, frozenGraph } from "./onnx/graphs.js";
import { readHfWeights } from "./onnx/hf-weights.js";

/** Where the export of `dir` is cached, and whether it must be (re)built. */
export function exportedGraphPath(dir: string, sha256: string, cacheDir?: string): string {
  const base = cacheDir ?? join(dir, ".memarc-onnx");
  return join(base, `frozen-${sha256.slice(0, 16)}-v${FROZEN_GRAPH_VERSION}.onnx`);
}

/** The exported graph of model directory `dir`: from the cache, or built (and cached) now. */
export function exportFrozenGraph(
  dir: string,
  o: { cacheDir?: string } = {},
): { path: string; built: boolean } {
  const w = readHfWeights(dir);
  const path = exportedGraphPath(dir, w.sha256, o.cacheDir);
  if (existsSync(path)) return { path, built: false };
  const bytes = frozenGraph(w);
  const parent = join(path, "..");
  mkdirSync(parent, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path); // atomic: a concurrent reader sees no half-written graph
  return { path, built: true };
}

export interface OnnxEngineOptions {
  /** Intra-op threads (default: all available cores). */
  threads?: number;
  /** Where exported graphs are cached (default: `.memarc-onnx` inside the model directory). */
  cacheDir?: string;
}

export class OnnxFrozenEngine implements FrozenEngine {
  readonly name = "onnx" as const;

  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    readonly threads: number,
    readonly layers: number,
    readonly graphPath: string,
  ) {}

  static async create(ort: typeof Ort, dir: string, o: OnnxEngineOptions = {}): Promise<OnnxFrozenEngine> {
    const { path } = exportFrozenGraph(dir, o);
    const threads = o.threads ?? defaultThreads();
    const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(path)), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      executionProviders: executionProviders(),
    });
    const layers = session.outputNames.filter((n) => n.startsWith("hidden.")).length - 1;
    return new OnnxFrozenEngine(ort, session, threads, layers, path);
  }

  async run(ids: Int32Array, mask: Float32Array, batch: number, seq: number): Promise<FrozenOutputs> {
    if (ids.length !== batch * seq || mask.length !== batch * seq)
      throw new RangeError(`frozen pass: ids/mask must hold ${batch}×${seq} values`);
    const feeds = {
      input_ids: new this.ort.Tensor(
        "int64",
        BigInt64Array.from(ids, (v) => BigInt(v)),
        [batch, seq],
      ),
      attention_mask: new this.ort.Tensor("float32", mask, [batch, seq]),
    };
    const out = await this.session.run(feeds);
    const data = (name: string) => out[name]!.data as Float32Array;
    const hidden = Array.from({ length: this.layers + 1 }, (_, i) => data(`hidden.${i}`));
    const pooled = data("pooled");
    return { hidden, final: data("final"), pooled, batch, seq, dim: pooled.length / batch };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * ONNX Runtime execution providers, in order of preference: MEMARC_ORT_PROVIDERS (e.g. "cuda,cpu" on
 * a GPU node whose onnxruntime-node install fetched the CUDA provider: docs/docker.md), else the
 * CPU provider bundled in the npm package.
 */
export function executionProviders(): string[] {
  const env = process.env.MEMARC_ORT_PROVIDERS?.trim();
  return env
    ? env
        .split(",")
        .map((p) => p.trim())
        .filter((p) => p !== "")
    : ["cpu"];
}

/**
 * Threads for ONNX Runtime: MEMARC_INFERENCE_THREADS when set, else all cores this process may use
 * (availableParallelism respects CPU affinity and container limits).
 */
export function defaultThreads(): number {
  const env = Number(process.env.MEMARC_INFERENCE_THREADS);
  if (Number.isSafeInteger(env) && env >= 1) return env;
  return Math.max(1, availableParallelism());
}
