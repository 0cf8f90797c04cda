/**
 * One interface for the frozen backbone's forward pass, whatever runs it. ONNX Runtime is several
 * times faster than tfjs-wasm for inference (and uses every core); training stays on tfjs, so the
 * two meet in typed arrays.
 *
 * `MEMARC_INFERENCE=auto|onnx|tfjs`: auto uses ONNX Runtime when it loads and falls back to tfjs,
 * saying why; an explicit choice that cannot load is an error.
 */

/** What one frozen pass returns, row-major. */
export interface FrozenOutputs {
  /** h_0 … h_L, each [batch, seq, dim]: the states the side network taps. */
  hidden: Float32Array[];
  /** [batch, seq, dim]: GPT-2 ln_f(h_L), BERT h_L. */
  final: Float32Array;
  /** [batch, dim]: mean of `final` over real tokens. */
  pooled: Float32Array;
  batch: number;
  seq: number;
  dim: number;
}

export interface FrozenEngine {
  readonly name: "onnx" | "tfjs";
  /** Threads the engine computes with. */
  readonly threads: number;
  /** ids int32 [batch·seq], mask float32 [batch·seq] (1 = token, right padding). */
  run(ids: Int32Array, mask: Float32Array, batch: number, seq: number): Promise<FrozenOutputs>;
  dispose(): Promise<void>;
}

export type InferenceRequest = "auto" | "onnx" | "tfjs";
export const INFERENCE_REQUESTS: readonly InferenceRequest[] = ["auto", "onnx", "tfjs"];

export class InferenceError extends Error {
  readonly code = "E_INFERENCE";
  constructor(message: string) {
    super(message);
    this.name = "InferenceError";
  }
}

export function parseInferenceRequest(value: string | undefined): InferenceRequest {
  const v = (value ?? "auto").trim().toLowerCase() || "auto";
  if ((INFERENCE_REQUESTS as readonly string[]).includes(v)) return v as InferenceRequest;
  throw new InferenceError(
    `MEMARC_INFERENCE: unknown engine "${value}"; expected one of ${INFERENCE_REQUESTS.join(", ")}`,
  );
}
