/**
 * `--config FILE`: a command's settings in YAML (or JSON, which YAML 1.2 reads too), keyed by the
 * flag names without dashes — `epsilon: 8`, `clip-norm: 1`, `adaptive-clip: true`. Flags on the
 * command line override the file. YAML, through the `yaml` package, because people write these files
 * by hand: comments, no quoting of numbers, and one format that also takes machine-written JSON.
 * Every key is checked against the command's declared options here, before anything runs.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parseDocument } from "yaml";
import type { OptionSpec } from "./command.js";
import { UsageError } from "./errors.js";
import type { RawValue, RawValues } from "./flags.js";
import { didYouMean } from "./suggest.js";

/** Options that make no sense in a file (they are about this invocation, not the run). */
const NOT_IN_FILE = new Set(["config", "help", "json", "version"]);

const EXTENSIONS = [".yaml", ".yml", ".json"];

export function readConfigFile(path: string, options: Record<string, OptionSpec>): RawValues {
  if (!EXTENSIONS.includes(extname(path).toLowerCase()))
    throw new UsageError(`--config ${path}: expected a ${EXTENSIONS.join(", ")} file`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`--config ${path}: cannot read: ${(err as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos ? `:${e.linePos[0].line}` : "";
    throw new UsageError(`--config ${path}${where}: ${e.message.split("\n")[0]}`);
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return {};
  if (typeof data !== "object" || Array.isArray(data))
    throw new UsageError(
      `--config ${path}: expected a mapping of settings (key: value), got ${describe(data)}`,
    );
  const known = Object.keys(options).filter((k) => !NOT_IN_FILE.has(k));
  const values: RawValues = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const spec = options[key];
    if (!spec || NOT_IN_FILE.has(key)) {
      const hint = NOT_IN_FILE.has(key)
        ? `; --${key} belongs on the command line`
        : didYouMean(key, known) || "; run the command with --help for its keys";
      throw new UsageError(`--config ${path}: unknown key "${key}"${hint}`);
    }
    values[key] = toRaw(path, key, spec, value);
  }
  return values;
}

function toRaw(path: string, key: string, spec: OptionSpec, value: unknown): RawValue {
  const bad = (expected: string) =>
    new UsageError(`--config ${path}: "${key}" must be ${expected}, got ${describe(value)}`);
  if (spec.type === "boolean") {
    if (typeof value !== "boolean") throw bad("true or false");
    return value;
  }
  const scalar = (v: unknown): string => {
    // Numbers keep their meaning through String(): 1e-5 → "0.00001", .inf → "Infinity".
    if (typeof v === "string" || typeof v === "number") return String(v);
    throw bad(spec.multiple ? "a value or a list of values" : "a value (text or number)");
  };
  if (Array.isArray(value)) {
    if (!spec.multiple) throw bad("a single value");
    return value.map(scalar);
  }
  return scalar(value);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}
