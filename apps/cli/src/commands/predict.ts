/**
 * `memarc predict`: classify texts with a model directory written by `finetune --out`. Nothing is
 * trained and nothing leaves the machine; the privacy guarantee is the one recorded in the model.
 */
import { initBackend } from "@memarc/tensor";
import { argmaxRows } from "@memarc/train";
import { cleanTexts, openClassifier, readRecords } from "../cli/classifier.js";
import type { Command } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";
import { rateReporter } from "../cli/rate.js";
import { INFERENCE_THREADS_OPTION } from "../cli/threads.js";

export const predictCommand: Command = {
  name: "predict",
  summary: "classify texts with a fine-tuned model directory (finetune --out DIR)",
  details:
    "Each --text (repeatable) or each record of --data (JSONL/CSV with a text field; labels, if any,\n" +
    "are ignored) gets the model's label and class probabilities. Texts are cleaned as training texts\n" +
    'were. Output with --json: {"model","scheme","engine","classNames","predictions":[{"label",\n' +
    '"probabilities":{class: p}}]} in input order.\n\n' +
    'Example: memarc predict --model ./spam-model --text "WIN A FREE PRIZE NOW" --json',
  options: {
    model: {
      type: "string",
      value: "DIR",
      description: "model directory written by finetune --out (required)",
    },
    text: {
      type: "string",
      value: "T",
      multiple: true,
      description: "a text to classify (repeat for several)",
    },
    data: { type: "string", value: "FILE", description: "classify every record of this .jsonl/.csv file" },
    ...INFERENCE_THREADS_OPTION,
  },
  async run({ flags, out }) {
    const dir = flags.requireString("model");
    const texts = cleanTexts(flags.strings("text"));
    await initBackend({ log: null });
    const threads = flags.int("threads", { min: 1, max: 64 })!;
    const c = await openClassifier(dir, { log: (l) => out.progress(l), threads });
    try {
      const { classNames } = c.loaded.manifest;
      const file = flags.string("data");
      if (file) texts.push(...readRecords(file, classNames, "optional").texts);
      if (texts.length === 0) throw new UsageError("give at least one --text or a --data file");
      const probs = await c.probabilities(
        texts,
        rateReporter("classified", (l) => out.progress(l), { terminal: out.terminal() }),
      );
      const k = classNames.length;
      const best = argmaxRows(probs, k);
      const predictions = Array.from(best, (b, i) => ({
        label: classNames[b]!,
        probabilities: Object.fromEntries(classNames.map((name, j) => [name, probs[i * k + j]!])),
      }));
      out.result(
        {
          model: dir,
          scheme: c.loaded.manifest.scheme,
          engine: c.engine,
          classNames,
          predictions,
        },
        () =>
          predictions
            .map((p, i) => `${p.label}\t${p.probabilities[p.label]!.toFixed(3)}\t${texts[i]!.slice(0, 60)}`)
            .join("\n"),
      );
    } finally {
      c.dispose();
    }
  },
};
