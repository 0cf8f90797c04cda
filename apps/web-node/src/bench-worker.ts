/**
 * `memarc bench browser-step`, the browser half: DP-SGD steps of the side scheme timed in a Web
 * Worker with the same engine and the same timing code (stepTimes) as `memarc bench step` under Node.
 */
import { initBackend } from "@memarc/tensor";
import { median, sideDpStepTimes } from "@memarc/train";
import { fetchBackbone } from "./backbone-fetch.js";
import type { RunInfo } from "./run-info.js";

export interface BenchRequest {
  base: string;
  model: NonNullable<RunInfo["model"]>;
  backend: string;
  batch: number;
  context: number;
  warmup: number;
  steps: number;
  /** DP-step Web Workers (clip-worker.js, served next to this script); 1: this Worker alone. */
  threads: number;
}

export type BenchReply =
  | { type: "result"; backend: string; provider: string; skipped: string[]; dpMs: number; stepMs: number[] }
  | { type: "error"; message: string };

const scope = globalThis as unknown as {
  postMessage(m: BenchReply): void;
  onmessage: ((e: MessageEvent<BenchRequest>) => void) | null;
};

async function bench(r: BenchRequest): Promise<BenchReply> {
  const info = await initBackend({ backend: r.backend, wasmPaths: r.base, log: null });
  const backbone = await fetchBackbone(r.model, r.base);
  const stepMs = await sideDpStepTimes(backbone, r);
  return {
    type: "result",
    backend: info.name,
    provider: info.provider,
    skipped: info.skipped,
    dpMs: median(stepMs),
    stepMs,
  };
}

scope.onmessage = (e) => {
  bench(e.data).then(scope.postMessage, (err: unknown) =>
    scope.postMessage({ type: "error", message: (err as Error).message ?? String(err) }),
  );
};
