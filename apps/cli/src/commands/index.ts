/** The command tree. Add a command by importing it here; each lives in its own file. */
import type { Command } from "../cli/command.js";
import { accountantCommand } from "./accountant.js";
import { backendCommand } from "./backend.js";
import { benchAccountantCommand } from "./bench-accountant.js";
import { benchBrowserStepCommand } from "./bench-browser-step.js";
import { benchCoordinatorCommand } from "./bench-coordinator.js";
import { benchFrozenCommand } from "./bench-frozen.js";
import { benchMemoryCommand } from "./bench-memory.js";
import { benchProtocolCommand } from "./bench-protocol.js";
import { benchStepCommand } from "./bench-step.js";
import { buildNodePageCommand } from "./build-node-page.js";
import { clientCommand } from "./client.js";
import { coordinatorCommand } from "./coordinator.js";
import { embedCommand } from "./embed.js";
import { evalCommand } from "./eval.js";
import { finetuneCommand } from "./finetune.js";
import { keygenCommand } from "./keygen.js";
import { predictCommand } from "./predict.js";
import { pretrainCommand } from "./pretrain.js";
import { simulateCommand } from "./simulate.js";

export const commands: Command[] = [
  simulateCommand,
  coordinatorCommand,
  clientCommand,
  backendCommand,
  accountantCommand,
  pretrainCommand,
  keygenCommand,
  finetuneCommand,
  predictCommand,
  evalCommand,
  embedCommand,
  buildNodePageCommand,
];

/** `memarc bench <name>`: benchmarks that print JSON. */
export const benchmarks: Command[] = [
  benchAccountantCommand,
  benchBrowserStepCommand,
  benchCoordinatorCommand,
  benchFrozenCommand,
  benchMemoryCommand,
  benchProtocolCommand,
  benchStepCommand,
];
