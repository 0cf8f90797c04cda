/**
 * `--threads`: worker threads for each DP step of the transformer schemes. wasm runs one thread per
 * process under Node, so a node uses more than one core only through worker threads: the step's
 * Poisson batch is split into micro-batches over them, their clipped sums are added on the main
 * thread and the noise is drawn there once (same mechanism, same accounting).
 */
import { availableParallelism } from "node:os";
import type { OptionSpec } from "./command.js";

export const THREADS_OPTION: Record<string, OptionSpec> = {
  threads: {
    type: "string",
    value: "N",
    default: availableParallelism(),
    description: "worker threads per DP step of side/reversible/lora/full (1: the main thread alone)",
  },
};

/** The worker threads a scheme's DP steps really use: the linear schemes train on the main thread. */
export function dpThreadsFor(scheme: string, threads: number | undefined): number {
  return scheme === "logreg" || scheme === "probe" ? 1 : (threads ?? 1);
}

/** `--threads` of `predict` and `eval`: the same workers, running forwards instead of DP steps. */
export const INFERENCE_THREADS_OPTION: Record<string, OptionSpec> = {
  threads: {
    type: "string",
    value: "N",
    default: availableParallelism(),
    description:
      "worker threads for the forwards of lora/reversible/full models, at most one per 32 texts (side and probe: ONNX Runtime's own)",
  },
};

/** Rows per worker below which starting another worker (it loads the backbone) costs more than it saves. */
export const ROWS_PER_INFERENCE_THREAD = 32;
