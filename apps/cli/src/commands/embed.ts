/**
 * Sentence embeddings from the frozen backbone, with sentence-transformers' semantics for
 * all-MiniLM-L6-v2: WordPiece with [CLS] … [SEP] truncated to the model's max_seq_length (256),
 * mean pooling of the last hidden states over real tokens, then L2 normalisation.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { bundledEncoderDir } from "@memarc/models/node";
import { initBackend } from "@memarc/tensor";
import { tokenizeDataset } from "@memarc/train";
import { loadBackbone } from "@memarc/train/node";
import type { Command } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";
import { frozenEngineFor } from "../cli/frozen.js";
import { rateReporter } from "../cli/rate.js";

/** sentence-transformers' max_seq_length for the model, when its directory says so. */
function maxSeqLength(dir: string, fallback: number): number {
  const file = join(dir, "sentence_bert_config.json");
  if (!existsSync(file)) return fallback;
  const v = (JSON.parse(readFileSync(file, "utf8")) as { max_seq_length?: unknown }).max_seq_length;
  return typeof v === "number" && v > 0 ? Math.min(v, fallback) : fallback;
}

export const embedCommand: Command = {
  name: "embed",
  summary: "sentence embeddings (mean pooling + L2 normalisation, as sentence-transformers computes them)",
  details:
    "Embeds each --text (repeatable) or each line of --file with the frozen backbone (default: the\n" +
    'bundled all-MiniLM-L6-v2). Output: {"model","dim","engine","embeddings":[[…],…]} with --json,\n' +
    "one vector per input in order. Cosine similarity of two embeddings is their dot product.\n\n" +
    'Example: memarc embed --text "A man is eating food." --text "A man is eating bread." --json',
  options: {
    text: { type: "string", value: "T", multiple: true, description: "a text to embed (repeat for several)" },
    file: { type: "string", value: "FILE", description: "embed every non-empty line of this file" },
    model: {
      type: "string",
      value: "DIR",
      description:
        "backbone directory, GPT-2, BERT or RoBERTa (default: the bundled all-MiniLM-L6-v2 encoder)",
    },
    batch: { type: "string", value: "N", description: "texts per forward pass (default 32)" },
  },
  async run({ flags, out }) {
    const texts = flags.strings("text");
    const file = flags.string("file");
    if (file) {
      if (!existsSync(file)) throw new UsageError(`--file: no such file: ${file}`);
      texts.push(
        ...readFileSync(file, "utf8")
          .split("\n")
          .filter((l) => l.trim() !== ""),
      );
    }
    if (texts.length === 0) throw new UsageError("give at least one --text or a --file");
    const batch = flags.int("batch", { min: 1, max: 4096 }) ?? 32;
    const dir = resolve(flags.string("model") ?? bundledEncoderDir());
    await initBackend({ log: null });
    const backbone = await loadBackbone(dir);
    const { engine } = await frozenEngineFor(backbone, { log: (l) => out.progress(l) });
    const maxLen = maxSeqLength(dir, backbone.model.config.nPositions);
    const report = rateReporter("embedded", (l) => out.progress(l), { terminal: out.terminal() });
    const embeddings: number[][] = [];
    for (let s = 0; s < texts.length; s += batch) {
      const part = texts.slice(s, s + batch);
      // Pad to the longest text of this batch (not to maxLen): padding changes nothing, costs time.
      const longest = tokenizeDataset(backbone.tokenizer, part, new Int32Array(part.length), maxLen);
      const t = Math.max(1, ...longest.lengths);
      const data = tokenizeDataset(backbone.tokenizer, part, new Int32Array(part.length), t);
      const mask = new Float32Array(part.length * t);
      for (let i = 0; i < part.length; i++) mask.fill(1, i * t, i * t + data.lengths[i]!);
      const r = await engine.run(data.ids, mask, part.length, t);
      for (let i = 0; i < part.length; i++) {
        const v = r.pooled.subarray(i * r.dim, (i + 1) * r.dim);
        const n = Math.hypot(...v) || 1;
        embeddings.push(Array.from(v, (x) => x / n));
      }
      report(embeddings.length, texts.length);
    }
    const result = { model: dir, dim: embeddings[0]!.length, engine: engine.name, embeddings };
    out.result(result, () => embeddings.map((e) => e.map((x) => x.toFixed(6)).join(" ")).join("\n"));
    await engine.dispose();
  },
};
