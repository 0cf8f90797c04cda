/** The command tree. Add a command by importing it here; each lives in its own file. */
import type { Command } from "../cli/command.js";
import { backendCommand } from "./backend.js";

export const commands: Command[] = [backendCommand];

/** `memarc bench <name>`: benchmarks that print JSON. */
export const benchmarks: Command[] = [];
