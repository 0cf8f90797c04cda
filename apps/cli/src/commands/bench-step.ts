/**
 * `memarc bench step`: wall time of one DP-SGD step against the same step without DP, per scheme.
 *
 * Both run through the real engine (trainDpSgd over a SchemeModel, q = 1 on a fixed batch, so every
 * step sees the same B examples):
 *   DP     = clippedGradients (per-example norms + clipped sum by book-keeping) + Gaussian noise
 *            (CSPRNG) + division by q·N + Adam update;
 *   non-DP = gradients (plain summed gradient, no per-example work) + division + Adam update.
 * For side, the frozen backbone's features are cached once (as training does) and each step uploads
 * the batch's cached features and runs the side network only.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { SchemeKind } from "@memarc/models";
import { GPT2, type GPT2Config } from "@memarc/models";
import { bundledBackbonePath, missingBackboneFiles, readArchitecture } from "@memarc/models/node";
import { initBackend, kernelCounters } from "@memarc/tensor";
import {
  type Backbone,
  ClipPool,
  createScheme,
  DEFAULT_MAX_PHYSICAL_BATCH,
  median,
  ParallelSchemeModel,
  randomRows,
  SchemeModel,
  stepTimes,
  TRANSFORMER_SCHEMES,
  type TrainableModel,
} from "@memarc/train";
import { loadBackbone } from "@memarc/train/node";
import * as tf from "@tensorflow/tfjs";
import type { Command } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";

const DEFAULT_CONFIG: GPT2Config = {
  nLayer: 4,
  nEmbd: 128,
  nHead: 4,
  nPositions: 128,
  vocabSize: 4096,
  layerNormEps: 1e-5,
};

/** FLOPs of a matrix product kernel from its input shapes (2·M·K·N per product), else 0. */
function matMulFlops(name: string, shapes: number[][]): number {
  if (name !== "BatchMatMul" && name !== "_FusedMatMul") return 0;
  const [a, b] = shapes;
  if (!a || !b || a.length < 2 || b.length < 2) return 0;
  const batch = a.slice(0, -2).reduce((p, d) => p * d, 1);
  // Without transpose flags (this code base multiplies in the plain orientation): a [..,M,K], b [..,K,N].
  return 2 * batch * a[a.length - 2]! * a[a.length - 1]! * b[b.length - 1]!;
}

/** MemArc's own kernels' rows in a profile (their calls are not tfjs kernels). */
const KERNEL_ROWS = {
  "small-gemm": "small-gemm (MemArc wasm kernel)",
  fused: "fused layer norm / GELU / attention (MemArc wasm kernel)",
  f16: "F16 → float32 of cached features (MemArc wasm kernel)",
} as const;

/**
 * One DP step's clipping (clippedGradients over the batch in micro-batches of `micro`, this thread)
 * under tf.profile: kernel time per kernel name, heaviest first — each group of MemArc's own kernels
 * as one row — and the step's matrix-product FLOPs, those kernels' included.
 */
async function profileStep(model: SchemeModel, b: number, micro: number) {
  const before = kernelCounters();
  const p = await tf.profile(() => {
    for (let start = 0; start < b; start += micro) {
      const idx = Int32Array.from({ length: Math.min(micro, b - start) }, (_, i) => start + i);
      const r = model.clippedGradients(idx, 1);
      tf.dispose([...r.clippedSum.values()]);
    }
  });
  const after = kernelCounters();
  const by = new Map<string, { ms: number; calls: number }>();
  let flops = 0;
  for (const k of p.kernels) {
    const e = by.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += k.kernelTimeMs as number;
    e.calls++;
    by.set(k.name, e);
    flops += matMulFlops(k.name, k.inputShapes as number[][]);
  }
  for (const group of ["small-gemm", "fused", "f16"] as const) {
    const [a, z] = [before[group], after[group]];
    if (z.calls === a.calls) continue;
    by.set(KERNEL_ROWS[group], { ms: z.ms - a.ms, calls: z.calls - a.calls });
    flops += z.flops - a.flops;
  }
  const kernels = [...by]
    .map(([kernel, e]) => ({ kernel, ms: Number(e.ms.toFixed(1)), calls: e.calls }))
    .sort((x, y) => y.ms - x.ms);
  return { kernels, matMulGflop: flops / 1e9 };
}

/** GFLOP/s of a plain 512³ matMul on this backend, median of 10 (the step's ceiling, same run). */
function matMulCeiling(): number {
  const a = tf.randomNormal([512, 512]);
  const c = tf.randomNormal([512, 512]);
  const times: number[] = [];
  for (let i = 0; i < 11; i++) {
    const t0 = performance.now();
    const r = tf.matMul(a, c);
    r.dataSync();
    r.dispose();
    if (i > 0) times.push(performance.now() - t0);
  }
  tf.dispose([a, c]);
  return (2 * 512 ** 3) / median(times) / 1e6;
}

export const benchStepCommand: Command = {
  name: "step",
  summary: "ms per DP-SGD step vs the same step without DP, per fine-tuning scheme",
  details:
    "Bundled backbone when present (else a random one of the same config: 4 layers, d_model 128,\n" +
    "4 heads, context 128, vocab 4096), batch 16, context 128, classification. Per scheme (side,\n" +
    "reversible, lora, full): dpMs = clippedGradients + noise + Adam update through the DP-SGD engine,\n" +
    "nonDpMs = gradients + Adam update (no clipping, no noise), ratio = dpMs/nonDpMs, medians over\n" +
    "--steps steps after --warmup. DP and non-DP runs alternate (--rounds) to spread machine noise.\n" +
    "side runs on cached backbone features (what training runs).",
  options: {
    batch: { type: "string", value: "B", description: "batch size (default 16)" },
    context: { type: "string", value: "T", description: "tokens per example (default 128)" },
    steps: { type: "string", value: "N", description: "measured steps per run (default 3)" },
    warmup: { type: "string", value: "N", description: "unmeasured steps per run (default 1)" },
    rounds: {
      type: "string",
      value: "N",
      description: "alternating DP / non-DP runs per scheme (default 2)",
    },
    schemes: {
      type: "string",
      value: "LIST",
      description: "comma-separated subset (default side,reversible,lora,full)",
    },
    model: {
      type: "string",
      value: "DIR",
      description: "any backbone directory, GPT-2, BERT or RoBERTa (default: the bundled GPT-2)",
    },
    profile: {
      type: "boolean",
      description:
        "also report one DP step's time per kernel, its matMul FLOPs and GFLOP/s (share of this run's matMul)",
    },
    "micro-batch": {
      type: "string",
      value: "N",
      description:
        "examples per physical micro-batch (default: min(B / threads, 32), as finetune and client run it)",
    },
    threads: {
      type: "string",
      value: "N",
      default: 1,
      description:
        "worker threads per DP step (B split into N micro-batches; N > 1 needs --model or the bundled backbone)",
    },
  },
  async run({ flags, out }) {
    const info = await initBackend({ log: null });
    const b = flags.int("batch") ?? 16;
    const steps = flags.int("steps") ?? 3;
    const warmup = flags.int("warmup", { min: 0 }) ?? 1;
    const rounds = flags.int("rounds") ?? 2;
    const threads = flags.int("threads", { min: 1 }) ?? 1;
    const micro =
      flags.int("micro-batch", { min: 1 }) ?? Math.min(Math.ceil(b / threads), DEFAULT_MAX_PHYSICAL_BATCH);
    const kinds = (flags.string("schemes")?.split(",") ?? [...TRANSFORMER_SCHEMES]).map((k) => {
      if (!(TRANSFORMER_SCHEMES as readonly string[]).includes(k))
        throw new UsageError(`--schemes: unknown scheme "${k}"; expected ${TRANSFORMER_SCHEMES.join(", ")}`);
      return k as SchemeKind;
    });
    const modelDir = flags.string("model");
    const dir = modelDir ? resolve(modelDir) : bundledBackbonePath();
    if (modelDir && !existsSync(dir)) throw new UsageError(`--model: no such directory: ${dir}`);
    const bundled =
      existsSync(dir) &&
      missingBackboneFiles(dir, await readArchitecture(dir).catch(() => "gpt2" as const)).length === 0;
    const backbone: Backbone =
      bundled || modelDir ? await loadBackbone(dir) : { model: GPT2.random(DEFAULT_CONFIG, 0) };
    if (threads > 1 && !backbone.dir)
      throw new UsageError("--threads: more than one thread needs a backbone directory (--model DIR)");
    const ceiling = matMulCeiling();
    const cfg = backbone.model.config;
    const t = flags.int("context", { min: 2, max: cfg.nPositions }) ?? Math.min(128, cfg.nPositions);
    const data = randomRows(b, t, cfg.vocabSize, 17);
    const schemes: Record<
      string,
      {
        dpMs: number;
        nonDpMs: number;
        ratio: number;
        examplesPerSecond: number;
        nonDpExamplesPerSecond: number;
        trainableParams: number;
        note?: string;
        profile?: { kernel: string; ms: number; calls: number }[];
        matMulGflop?: number;
        gflops?: number;
        gflopsOfMatMul?: number;
      }
    > = {};
    for (const kind of kinds) {
      out.progress(`measuring ${kind}…`);
      const create = { numClasses: 2, seed: 1 };
      const scheme = createScheme(kind, backbone, create);
      const local = new SchemeModel(scheme.scheme!, data);
      const pool =
        threads > 1
          ? new ClipPool(threads, {
              backbone: { dir: backbone.dir! },
              kind,
              scheme: create,
              objective: "classify",
            })
          : null;
      const model: TrainableModel = pool ? new ParallelSchemeModel(local, pool) : local;
      const dp: number[] = [];
      const plain: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const timing = { batch: b, warmup, steps, microBatch: micro };
        dp.push(...(await stepTimes(model, { ...timing, dp: true })));
        plain.push(...(await stepTimes(model, { ...timing, dp: false })));
      }
      const dpMs = median(dp);
      const nonDpMs = median(plain);
      await pool?.close();
      const profile = flags.bool("profile") ? await profileStep(local, b, micro) : undefined;
      const gflops = profile ? profile.matMulGflop / (dpMs / 1000) : undefined;
      schemes[kind] = {
        dpMs: Number(dpMs.toFixed(1)),
        nonDpMs: Number(nonDpMs.toFixed(1)),
        ratio: Number((dpMs / nonDpMs).toFixed(3)),
        examplesPerSecond: Number(((b * 1000) / dpMs).toFixed(1)),
        nonDpExamplesPerSecond: Number(((b * 1000) / nonDpMs).toFixed(1)),
        trainableParams: scheme.trainableParamCount(),
        ...(kind === "side"
          ? { note: "on cached frozen-backbone features (computed once per dataset, as in training)" }
          : {}),
        ...(profile
          ? {
              profile: profile.kernels,
              matMulGflop: Number(profile.matMulGflop.toPrecision(4)),
              gflops: Number(gflops!.toPrecision(4)),
              gflopsOfMatMul: Number((gflops! / ceiling).toPrecision(3)),
            }
          : {}),
      };
      out.progress(
        `  ${kind}: DP ${dpMs.toFixed(0)} ms, non-DP ${nonDpMs.toFixed(0)} ms, ratio ${(dpMs / nonDpMs).toFixed(2)}`,
      );
      scheme.dispose();
    }
    backbone.model.dispose();
    const result = {
      schemes,
      config: {
        ...cfg,
        batch: b,
        microBatch: micro,
        context: t,
        objective: "classify",
        clipNorm: 1,
        noiseMultiplier: 1,
        optimizer: "adam",
        warmupSteps: warmup,
        measuredSteps: steps * rounds,
        threads,
        matMulGflops: Number(ceiling.toFixed(1)),
        backbone: modelDir
          ? dir
          : bundled
            ? `bundled (${dir})`
            : "random init, same config (bundled backbone not built yet)",
      },
      backend: info.name,
    };
    out.result(result, () =>
      [
        `backend ${info.name}; ${result.config.backbone}; batch ${b}, context ${t}`,
        ...Object.entries(schemes).map(
          ([k, v]) =>
            `${k.padEnd(10)} DP ${String(v.dpMs).padStart(8)} ms  non-DP ${String(v.nonDpMs).padStart(8)} ms  ratio ${v.ratio}  ${v.examplesPerSecond} ex/s`,
        ),
      ].join("\n"),
    );
  },
};
