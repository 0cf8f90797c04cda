/**
 * A command is a plain object: its name, help text, option table and a run function. Commands with
 * subcommands (e.g. `bench`) list them in `subcommands` instead of implementing `run`.
 * Every command gets --help, --json and --config for free; `memarc --version` prints the version.
 *
 * Parsing is node's own `util.parseArgs` (maintained with Node, no dependency); this file adds what
 * it lacks — help generated from the same option table the command reads (defaults included, so
 * --help cannot drift from what runs), "did you mean" for misspelt flags and commands, and config
 * files. A CLI framework (commander, yargs) would bring its own option model for the same result.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { readConfigFile } from "./config-file.js";
import { errorCode, UsageError } from "./errors.js";
import { Flags, type RawValues } from "./flags.js";
import { Output } from "./output.js";
import { didYouMean } from "./suggest.js";

export interface OptionSpec {
  type: "string" | "boolean";
  description: string;
  /** Placeholder shown in help, e.g. "Q". */
  value?: string;
  short?: string;
  /** May be given several times (read with `flags.strings`). */
  multiple?: boolean;
  /**
   * The value used when neither the command line nor the config file gives one. --help prints it,
   * and `flags` returns it, so the two cannot disagree.
   */
  default?: string | number | boolean;
}

export interface CommandContext {
  flags: Flags;
  positionals: string[];
  out: Output;
}

export interface Command {
  name: string;
  summary: string;
  /** Longer help: what it does, defaults, examples. */
  details?: string;
  usage?: string;
  options?: Record<string, OptionSpec>;
  /** Allow positional arguments (default: none accepted). */
  positionals?: boolean;
  subcommands?: Command[];
  /** Resolves to an exit code, or nothing for success. */
  run?: (ctx: CommandContext) => Promise<number | undefined> | Promise<void>;
}

const COMMON: Record<string, OptionSpec> = {
  config: {
    type: "string",
    value: "FILE",
    description: "read settings from a YAML/JSON file (keys = these flags without --; flags override it)",
  },
  json: { type: "boolean", description: "print one JSON object on the last line of stdout" },
  help: { type: "boolean", short: "h", description: "show this help" },
};

/** The CLI package's version (apps/cli/package.json; this file runs from dist/cli/). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

function describeOption(o: OptionSpec): string {
  return o.default === undefined ? o.description : `${o.description} (default ${o.default})`;
}

function defaultsOf(options: Record<string, OptionSpec>): RawValues {
  const d: RawValues = {};
  for (const [name, o] of Object.entries(options))
    if (o.default !== undefined) d[name] = typeof o.default === "number" ? String(o.default) : o.default;
  return d;
}

export function renderHelp(cmd: Command, path: string[]): string {
  const full = ["memarc", ...path].join(" ");
  const lines: string[] = [];
  lines.push(`${full} — ${cmd.summary}`, "");
  if (cmd.subcommands?.length) {
    lines.push(`Usage: ${full} <command> [options]`, "", "Commands:");
    const w = Math.max(...cmd.subcommands.map((c) => c.name.length));
    for (const c of cmd.subcommands) lines.push(`  ${c.name.padEnd(w)}  ${c.summary}`);
    lines.push("", `Run '${full} <command> --help' for a command's options.`);
  } else {
    lines.push(`Usage: ${cmd.usage ?? `${full} [options]`}`);
  }
  if (cmd.details) lines.push("", cmd.details.trimEnd());
  const opts = { ...(cmd.options ?? {}), ...COMMON };
  const rows = Object.entries(opts).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
    return [flag, describeOption(o)] as const;
  });
  const w = Math.max(...rows.map((r) => r[0].length));
  lines.push("", "Options:");
  for (const [f, d] of rows) lines.push(`  ${f.padEnd(w)}  ${d}`);
  return `${lines.join("\n")}\n`;
}

/** Resolve `argv` against the command tree and run it. Returns the process exit code. */
export async function runCommand(root: Command, argv: string[], out = new Output()): Promise<number> {
  const path: string[] = [];
  let cmd = root;
  let rest = argv;
  if (rest[0] === "--version" || rest[0] === "-V") {
    if (rest.includes("--json")) out.json({ version: version() });
    else out.text(`memarc ${version()}`);
    return 0;
  }
  while (cmd.subcommands?.length) {
    const next = rest[0];
    if (next === undefined || next === "--help" || next === "-h" || next === "help") {
      out.text(renderHelp(cmd, path));
      return next === undefined ? 2 : 0;
    }
    if (next === "--json" && rest.length === 1) {
      out.json({ commands: cmd.subcommands.map((c) => c.name) });
      return 0;
    }
    const sub = cmd.subcommands.find((c) => c.name === next);
    if (!sub) {
      return fail(
        out,
        rest.includes("--json"),
        new UsageError(
          `unknown command "${[...path, next].join(" ")}"${didYouMean(
            next,
            cmd.subcommands.map((c) => c.name),
          )}; run 'memarc ${path.join(" ")} --help'`.replace("  ", " "),
        ),
      );
    }
    cmd = sub;
    path.push(next);
    rest = rest.slice(1);
  }
  const wantsJson = rest.includes("--json");
  const options = { ...(cmd.options ?? {}), ...COMMON };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(rest, options),
      // parseArgs' own defaults would hide whether the user gave a value; Flags applies ours last.
      options: Object.fromEntries(
        Object.entries(options).map(([k, { default: _d, ...o }]) => [k, o]),
      ) as Record<string, Omit<OptionSpec, "default">>,
      strict: true,
      allowPositionals: cmd.positionals ?? false,
    });
  } catch (err) {
    return fail(
      out,
      wantsJson,
      new UsageError(`${parseErrorMessage(err, options)} (see 'memarc ${path.join(" ")} --help')`),
    );
  }
  if (parsed.values.help) {
    out.text(renderHelp(cmd, path));
    return 0;
  }
  out.jsonMode = parsed.values.json === true;
  if (!cmd.run) return fail(out, wantsJson, new UsageError(`"${path.join(" ")}" cannot be run directly`));
  try {
    const configFile = typeof parsed.values.config === "string" ? parsed.values.config : undefined;
    const flags = new Flags(parsed.values, {
      ...(configFile ? { config: { file: configFile, values: readConfigFile(configFile, options) } } : {}),
      defaults: defaultsOf(options),
    });
    const code = await cmd.run({ flags, positionals: parsed.positionals, out });
    return typeof code === "number" ? code : 0;
  } catch (err) {
    return fail(out, out.jsonMode, err);
  }
}

/**
 * `--epsilon -3` → `--epsilon=-3`: node's parseArgs takes a value that starts with "-" for an
 * option and refuses it as ambiguous; joined, the flag's own validation names the real problem
 * ("--epsilon: must be > 0, got -3").
 */
function joinNegativeValues(args: string[], options: Record<string, OptionSpec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    const name = a.startsWith("--") ? a.slice(2) : null;
    if (name && options[name]?.type === "string" && next !== undefined && /^-(\d|\.\d|inf)/i.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** parseArgs' first line, with "did you mean" for an unknown option. */
function parseErrorMessage(err: unknown, options: Record<string, OptionSpec>): string {
  const first = (err as Error).message.split("\n")[0] ?? String(err);
  const unknown = /^Unknown option '(-{1,2})([^']+)'/.exec(first);
  if (!unknown) return first;
  const hint = didYouMean(unknown[2]!, Object.keys(options), (c) => `--${c}`);
  return `unknown option ${unknown[1]}${unknown[2]}${hint}`;
}

function fail(out: Output, json: boolean, err: unknown): number {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  out.error(`memarc: ${message}`);
  if (code === "E_INTERNAL" && err instanceof Error && err.stack && process.env.MEMARC_DEBUG)
    out.error(err.stack);
  if (json) out.json({ error: { code, message } });
  return code === "E_USAGE" ? 2 : 1;
}
