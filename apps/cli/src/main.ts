import { type Command, runCommand } from "./cli/command.js";
import { Output } from "./cli/output.js";
import { benchmarks, commands } from "./commands/index.js";

export const root: Command = {
  name: "memarc",
  summary: "federated, differentially private, memory-efficient fine-tuning of language models",
  subcommands: [
    ...commands,
    {
      name: "bench",
      summary: "benchmarks; each prints one JSON object with --json",
      subcommands: benchmarks,
    },
  ],
};

export function main(argv: string[], out = new Output()): Promise<number> {
  return runCommand(root, argv, out);
}
