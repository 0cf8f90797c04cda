/**
 * `memarc bench frozen`: the frozen backbone's forward pass (what side features, embed and
 * evaluation cost) on tfjs and on ONNX Runtime with one and two threads, over the same batch in one
 * run, next to a 512³ matMul on each engine as the ceiling that run reaches.
 */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { GraphBuilder, OnnxFrozenEngine, TfjsFrozenEngine } from "@memarc/inference";
import { bundledEncoderDir, loadBackboneModel } from "@memarc/models/node";
import { initBackend } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import type { Command } from "../cli/command.js";

/** Median of `runs` timings of `f` (ms), after one warm-up. */
async function median(runs: number, f: () => Promise<unknown>): Promise<number> {
  await f();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

const N = 512;
const MATMUL_FLOP = 2 * N ** 3;

export const benchFrozenCommand: Command = {
  name: "frozen",
  summary:
    "frozen-backbone forward: tokens/s on tfjs vs ONNX Runtime (1 and 2 threads), with the matMul ceiling",
  details:
    'JSON: {"model","batch","context","tokensPerSecond":{"tfjs","onnx1","onnx2"},"ratio","matmulGflops":{"tfjs","onnx1","onnx2"},"onnx2OfMatmul"}\n' +
    "ratio = onnx2 / tfjs tokens per second; onnx2OfMatmul = the frozen pass's FLOP rate on two threads as a\n" +
    "fraction of the same run's two-thread matMul (FLOPs counted as 2·params·tokens plus attention).",
  options: {
    model: { type: "string", value: "DIR", description: "model directory (default: the bundled encoder)" },
    batch: { type: "string", value: "B", description: "examples per pass (default 32)" },
    context: { type: "string", value: "T", description: "tokens per example (default 64)" },
    runs: { type: "string", value: "N", description: "timed runs per engine, median reported (default 3)" },
  },
  async run({ flags, out }) {
    const dir = resolve(flags.string("model") ?? bundledEncoderDir());
    const b = flags.int("batch", { min: 1 }) ?? 32;
    const t = flags.int("context", { min: 2 }) ?? 64;
    const runs = flags.int("runs", { min: 1 }) ?? 3;
    await initBackend({ log: null });
    const ort = await import("onnxruntime-node");
    const model = await loadBackboneModel(dir);
    const c = model.config;
    const ids = Int32Array.from({ length: b * t }, (_, i) => 1000 + ((i * 7919) % (c.vocabSize - 1000)));
    const mask = new Float32Array(b * t).fill(1);
    const tokens = b * t;
    const time = async (run: () => Promise<unknown>) => tokens / ((await median(runs, run)) / 1000);

    out.progress("tfjs…");
    const tfjsEngine = new TfjsFrozenEngine(model);
    const tfjsTps = await time(() => tfjsEngine.run(ids, mask, b, t));
    const engines: Record<string, number> = {};
    for (const threads of [1, 2]) {
      out.progress(`ONNX Runtime, ${threads} thread(s)…`);
      const e = await OnnxFrozenEngine.create(ort, dir, { threads });
      engines[`onnx${threads}`] = await time(() => e.run(ids, mask, b, t));
      await e.dispose();
    }

    // The ceiling in the same run: a 512³ matMul on each engine.
    const a = tf.randomNormal([N, N]) as tf.Tensor2D;
    const w = tf.randomNormal([N, N]) as tf.Tensor2D;
    const tfjsMs = await median(Math.max(5, runs), async () => {
      const p = tf.matMul(a, w);
      await p.data();
      p.dispose();
    });
    const g = new GraphBuilder("matmul");
    g.output(
      "y",
      g.matMul(g.input("x", "float", [N, N]), g.constant((await w.data()) as Float32Array, [N, N])),
      "float",
      [N, N],
    );
    const bytes = g.finish({ name: "memarc-bench", version: "1" });
    const x = new ort.Tensor("float32", (await a.data()) as Float32Array, [N, N]);
    const gflops: Record<string, number> = { tfjs: MATMUL_FLOP / tfjsMs / 1e6 };
    for (const threads of [1, 2]) {
      const s = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
      });
      gflops[`onnx${threads}`] = MATMUL_FLOP / (await median(Math.max(5, runs), () => s.run({ x }))) / 1e6;
      await s.release();
    }
    tf.dispose([a, w]);
    // FLOPs per token of the frozen pass: 2·(weights touched) + attention scores and mixing.
    const inner = (c as { nInner?: number }).nInner ?? 4 * c.nEmbd;
    const perLayer = 2 * (4 * c.nEmbd * c.nEmbd + 2 * c.nEmbd * inner) + 4 * t * c.nEmbd;
    const flopPerToken = c.nLayer * perLayer;
    const result = {
      model: dir,
      batch: b,
      context: t,
      cores: availableParallelism(),
      tokensPerSecond: { tfjs: tfjsTps, onnx1: engines.onnx1!, onnx2: engines.onnx2! },
      ratio: engines.onnx2! / tfjsTps,
      matmulGflops: gflops,
      onnx2OfMatmul: (engines.onnx2! * flopPerToken) / 1e9 / gflops.onnx2!,
    };
    model.dispose();
    out.result(result, () => JSON.stringify(result, null, 2));
  },
};
