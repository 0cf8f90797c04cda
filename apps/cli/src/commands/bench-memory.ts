/**
 * `memarc bench memory`: peak engine bytes (above the starting point) of one DP-SGD step —
 * per-example clipping included — for each fine-tuning scheme, and how it scales with depth.
 * Engine bytes are exact on wasm; the wasm heap itself only grows, so RSS would mislead.
 */

import {
  type BackboneModel,
  type Batch,
  Bert,
  disposeSideFeatures,
  FullScheme,
  GPT2,
  type GPT2Config,
  LoraScheme,
  ReversibleScheme,
  type Scheme,
  SideScheme,
} from "@memarc/models";
import { initBackend, measurePeak } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import type { Command } from "../cli/command.js";

type Kind = "full" | "lora" | "side" | "reversible";

function makeScheme(kind: Kind, bb: BackboneModel): Scheme {
  const opts = { numClasses: 2, initSeed: 1 };
  if (kind === "full") return new FullScheme(bb, opts);
  if (kind === "lora") return new LoraScheme(bb, { ...opts, rank: 8 });
  if (kind === "side") return new SideScheme(bb, { ...opts, reduction: 8 });
  return new ReversibleScheme(bb, { ...opts, adapterDim: 16 });
}

function makeBatch(b: number, t: number, vocab: number): Batch {
  return tf.tidy(() => {
    const ids = tf.cast(tf.floor(tf.randomUniform([b, t], 0, vocab, "float32", 11)), "int32") as tf.Tensor2D;
    // Right padding on half the batch so masking is exercised as in real data.
    const lens = Array.from({ length: b }, (_, i) => (i % 2 ? t - Math.floor(t / 4) : t));
    const mask = tf.tensor2d(
      lens.flatMap((len) => Array.from({ length: t }, (_, k) => (k < len ? 1 : 0))),
      [b, t],
    );
    const labels = tf.tensor1d(
      Array.from({ length: b }, (_, i) => i % 2),
      "int32",
    );
    return { inputIds: ids, attentionMask: mask, labels } as Batch & Record<string, tf.Tensor>;
  }) as Batch;
}

interface Measured {
  peakBytes: number;
  trainableParams: number;
  wallMs: number;
  leakedTensors: number;
  peakBytesCachedFeatures?: number;
  featureBytes?: number;
}

async function measure(kind: Kind, cfg: GPT2Config, b: number, arch: "gpt2" | "bert"): Promise<Measured> {
  const bb: BackboneModel =
    arch === "bert"
      ? Bert.random({ ...cfg, nInner: 4 * cfg.nEmbd, typeVocabSize: 2 }, 0)
      : GPT2.random(cfg, 0);
  const scheme = makeScheme(kind, bb);
  const batch = makeBatch(b, cfg.nPositions, cfg.vocabSize);
  const step = (x: Batch) => () => {
    const r = scheme.clippedGradients(x, { clipNorm: 1, objective: "classify" });
    tf.dispose(Object.values(r.clippedSum));
  };
  const m = await measurePeak(step(batch));
  const out: Measured = {
    peakBytes: m.peakBytes,
    trainableParams: scheme.trainableParamCount(),
    wallMs: Math.round(m.wallMs),
    leakedTensors: m.leakedTensors,
  };
  if (scheme instanceof SideScheme) {
    // The trainer computes the frozen backbone's features once per dataset and reuses them.
    const features = scheme.sideFeatures(batch);
    const cached = await measurePeak(step({ ...batch, features }));
    out.peakBytesCachedFeatures = cached.peakBytes;
    out.featureBytes = features.hidden.reduce((s, h) => s + h.size * 4, 0);
    disposeSideFeatures(features);
  }
  tf.dispose([batch.inputIds, batch.attentionMask, batch.labels!]);
  scheme.dispose();
  bb.dispose();
  return out;
}

export const benchMemoryCommand: Command = {
  name: "memory",
  summary: "peak memory of one DP-SGD step (per-example clipping) per fine-tuning scheme",
  details:
    "Random-init backbone (default GPT-2: 6 layers, d_model 256, 4 heads, context 128, batch 16,\n" +
    "vocab 50257; --architecture bert for the encoder's kind, e.g. MiniLM's size: --layers 6\n" +
    "--d-model 384 --heads 12 --context 64 --vocab 30522). Reports peak engine bytes above the step's\n" +
    "starting point (plus the small-product kernel's working memory) for full, lora, side and reversible, then full/side/reversible at 6 and 12 layers.\n" +
    "Objective: sequence classification.",
  options: {
    layers: { type: "string", value: "N", description: "backbone layers (default 6)" },
    "d-model": { type: "string", value: "D", description: "hidden width (default 256)" },
    heads: { type: "string", value: "H", description: "attention heads (default 4)" },
    context: { type: "string", value: "T", description: "sequence length (default 128)" },
    batch: { type: "string", value: "B", description: "batch size (default 16)" },
    vocab: { type: "string", value: "V", description: "vocabulary size (default 50257)" },
    "no-depth": { type: "boolean", description: "skip the 6-vs-12-layer comparison" },
    architecture: { type: "string", value: "A", description: "gpt2 | bert (default gpt2)" },
  },
  async run({ flags, out }) {
    const info = await initBackend({ log: null });
    const layers = flags.int("layers") ?? 6;
    const cfg: GPT2Config = {
      nLayer: layers,
      nEmbd: flags.int("d-model") ?? 256,
      nHead: flags.int("heads") ?? 4,
      nPositions: flags.int("context", { min: 2 }) ?? 128,
      vocabSize: flags.int("vocab") ?? 50257,
      layerNormEps: 1e-5,
    };
    const batch = flags.int("batch") ?? 16;
    const arch = flags.choice("architecture", ["gpt2", "bert"] as const, "gpt2")!;
    const kinds: Kind[] = ["full", "lora", "side", "reversible"];
    const schemes: Record<string, Measured> = {};
    for (const k of kinds) {
      out.progress(`measuring ${k} (${layers} layers)…`);
      schemes[k] = await measure(k, cfg, batch, arch);
    }
    const depth: Record<string, Record<string, number>> = {};
    if (!flags.bool("no-depth")) {
      for (const k of ["full", "side", "reversible"] as Kind[]) {
        depth[k] = {};
        for (const n of [6, 12]) {
          out.progress(`measuring ${k} at ${n} layers…`);
          depth[k]![String(n)] =
            n === layers
              ? schemes[k]!.peakBytes
              : (await measure(k, { ...cfg, nLayer: n }, batch, arch)).peakBytes;
        }
      }
    }
    const full = schemes["full"]!.peakBytes;
    const result = {
      backend: info.name,
      config: { ...cfg, architecture: arch, batch, objective: "classify", clipNorm: 1 },
      schemes,
      depth,
      ratios: Object.fromEntries(kinds.map((k) => [k, Number((full / schemes[k]!.peakBytes).toFixed(2))])),
    };
    const mb = (x: number) => `${(x / 2 ** 20).toFixed(1)} MiB`;
    out.result(result, () =>
      [
        `backend ${info.name}; ${layers} layers, d ${cfg.nEmbd}, T ${cfg.nPositions}, batch ${batch}`,
        ...kinds.map(
          (k) =>
            `${k.padEnd(10)} peak ${mb(schemes[k]!.peakBytes).padStart(12)}  full/this ${result.ratios[k]}  params ${schemes[k]!.trainableParams}`,
        ),
        ...Object.entries(depth).map(
          ([k, v]) => `${k.padEnd(10)} 6 layers ${mb(v["6"]!)}, 12 layers ${mb(v["12"]!)}`,
        ),
      ].join("\n"),
    );
  },
};
