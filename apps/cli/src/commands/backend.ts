import { initBackend } from "@memarc/tensor";
import type { Command } from "../cli/command.js";

export const backendCommand: Command = {
  name: "backend",
  summary: "initialise the compute backend and report which one was chosen",
  details:
    "The backend is chosen by MEMARC_BACKEND=auto|tensorflow|wasm|cpu (default auto: native TensorFlow\n" +
    "with CUDA, then native CPU, then wasm, then pure-JS cpu). An explicit choice that cannot load is an error.",
  options: {
    backend: { type: "string", value: "NAME", description: "override MEMARC_BACKEND for this call" },
  },
  async run({ flags, out }) {
    const info = await initBackend({ backend: flags.string("backend"), log: null });
    out.result(info, () =>
      [`backend: ${info.name} (${info.provider})`, ...info.skipped.map((s) => `  skipped ${s}`)].join("\n"),
    );
  },
};
