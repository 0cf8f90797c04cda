/**
 * `memarc eval`: a model directory's quality on labelled data — accuracy, precision / recall / F1
 * per class and macro-averaged, the confusion matrix, ROC AUC. Run it on data you may look at (a
 * public test set, your own held-out file): the numbers are not private.
 */
import { datasetByName } from "@memarc/data/node";
import { initBackend } from "@memarc/tensor";
import { classificationReport } from "@memarc/train";
import { openClassifier, readRecords } from "../cli/classifier.js";
import type { Command } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";
import { rateReporter } from "../cli/rate.js";
import { INFERENCE_THREADS_OPTION } from "../cli/threads.js";

export const evalCommand: Command = {
  name: "eval",
  summary:
    "accuracy, precision/recall/F1, confusion matrix and ROC AUC of a model directory on labelled data",
  details:
    "--data is a .jsonl/.csv file of {text, label} records (labels: the model's class names or their\n" +
    'indices) or spam-assassin (its test split). Output with --json: {"model","scheme","engine",\n' +
    '"threads","examples","accuracy","macroPrecision","macroRecall","macroF1","rocAuc","perClass","confusion",\n' +
    '"classNames","privacy"} — privacy is the guarantee recorded in the model.\n\n' +
    "Example: memarc eval --model ./spam-model --data spam-assassin --json",
  options: {
    model: {
      type: "string",
      value: "DIR",
      description: "model directory written by finetune --out (required)",
    },
    data: {
      type: "string",
      value: "FILE",
      description: "labelled .jsonl/.csv file, or spam-assassin (required)",
    },
    ...INFERENCE_THREADS_OPTION,
  },
  async run({ flags, out }) {
    const dir = flags.requireString("model");
    const spec = flags.requireString("data");
    await initBackend({ log: null });
    const threads = flags.int("threads", { min: 1, max: 64 })!;
    const c = await openClassifier(dir, { log: (l) => out.progress(l), threads });
    try {
      const { classNames } = c.loaded.manifest;
      let texts: readonly string[];
      let labels: Int32Array;
      if (spec === "spam-assassin") {
        const entry = datasetByName(spec);
        if (entry.classNames.join() !== classNames.join())
          throw new UsageError(
            `--data: the model's classes (${classNames}) are not ${spec}'s (${entry.classNames})`,
          );
        ({ texts, labels } = entry.load().test);
      } else {
        const r = readRecords(spec, classNames, "required");
        texts = r.texts;
        labels = r.labels!;
      }
      const probs = await c.probabilities(
        texts,
        rateReporter("evaluated", (l) => out.progress(l), { terminal: out.terminal() }),
      );
      const report = classificationReport(probs, labels, classNames);
      const json = {
        model: dir,
        scheme: c.loaded.manifest.scheme,
        engine: c.engine,
        threads: c.threadsFor(texts.length),
        ...report,
        privacy: c.loaded.manifest.privacy,
      };
      out.result(json, () => {
        const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
        return [
          `${report.examples} examples: accuracy ${pct(report.accuracy)}, macro F1 ${report.macroF1.toFixed(4)}, ROC AUC ${report.rocAuc?.toFixed(4) ?? "—"}`,
          ...classNames.map((n) => {
            const p = report.perClass[n]!;
            return `  ${n}: precision ${p.precision.toFixed(4)} recall ${p.recall.toFixed(4)} F1 ${p.f1.toFixed(4)} (${p.support})`;
          }),
          `  confusion (rows true, columns predicted): ${JSON.stringify(report.confusion)}`,
        ].join("\n");
      });
    } finally {
      c.dispose();
    }
  },
};
