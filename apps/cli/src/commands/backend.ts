import { inferenceInfo } from "@memarc/inference";
import { initBackend } from "@memarc/tensor";
import type { Command } from "../cli/command.js";

export const backendCommand: Command = {
  name: "backend",
  summary: "initialise the compute backend and report which one was chosen",
  details:
    "The backend is chosen by MEMARC_BACKEND=auto|tensorflow|wasm|cpu (default auto: native TensorFlow\n" +
    "with CUDA, then native CPU, then wasm, then pure-JS cpu). An explicit choice that cannot load is an error.\n" +
    "Frozen-backbone passes (side features, embed, evaluation) run on ONNX Runtime when it loads:\n" +
    'MEMARC_INFERENCE=auto|onnx|tfjs, reported as "inference".',
  options: {
    backend: { type: "string", value: "NAME", description: "override MEMARC_BACKEND for this call" },
  },
  async run({ flags, out }) {
    const info = await initBackend({ backend: flags.string("backend"), log: null });
    const inference = await inferenceInfo();
    out.result({ ...info, inference }, () =>
      [
        `backend: ${info.name} (${info.provider})`,
        ...info.skipped.map((s) => `  skipped ${s}`),
        `frozen passes: ${inference.engine} (${inference.threads} thread(s)${inference.providers.length ? `; providers ${inference.providers.join(", ")}` : ""})`,
        ...(inference.fallbackReason ? [`  ${inference.fallbackReason}`] : []),
      ].join("\n"),
    );
  },
};
