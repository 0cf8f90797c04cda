/**
 * Typed access to a command's settings. A value comes from the command line, else the --config
 * file, else the option's declared default (the same declaration --help prints). Every getter
 * validates and, on failure, throws a UsageError whose message starts with where the value came
 * from (`--epsilon` or `epsilon (in run.yaml)`), so a user knows exactly what to fix.
 */
import { basename } from "node:path";
import { UsageError } from "./errors.js";
import { didYouMean } from "./suggest.js";

export type RawValue = string | boolean | (string | boolean)[];
export type RawValues = Record<string, RawValue | undefined>;

export interface FlagSources {
  /** Values read from a config file, below the command line. */
  config?: { file: string; values: RawValues };
  /** Declared defaults, below both. */
  defaults?: RawValues;
}

export interface NumberRule {
  min?: number;
  max?: number;
  /** Exclusive bounds: (min, max). */
  gt?: number;
  lt?: number;
  /** Accept "inf"/"infinity" as +Infinity. */
  allowInfinity?: boolean;
}

export class Flags {
  constructor(
    private readonly values: RawValues,
    private readonly sources: FlagSources = {},
  ) {}

  /** Given by the user, on the command line or in the config file (not a declared default). */
  has(name: string): boolean {
    return this.values[name] !== undefined || this.sources.config?.values[name] !== undefined;
  }

  /** Where a value came from, as error messages name it. */
  label(name: string): string {
    const config = this.sources.config;
    return this.values[name] === undefined && config?.values[name] !== undefined
      ? `${name} (in ${basename(config.file)})`
      : `--${name}`;
  }

  private raw(name: string): RawValue | undefined {
    return this.values[name] ?? this.sources.config?.values[name] ?? this.sources.defaults?.[name];
  }

  bool(name: string): boolean {
    return this.raw(name) === true;
  }

  string(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (typeof v !== "string") throw new UsageError(`${this.label(name)}: expected a value`);
    if (v.trim() === "") throw new UsageError(`${this.label(name)}: value is empty`);
    return v;
  }

  /** Every value of a flag that may repeat (`--text a --text b`); [] when absent. */
  strings(name: string): string[] {
    const v = this.raw(name);
    if (v === undefined) return [];
    const list = Array.isArray(v) ? v : [v];
    return list.map((x) => {
      if (typeof x !== "string") throw new UsageError(`${this.label(name)}: expected a value`);
      return x;
    });
  }

  requireString(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw new UsageError(`--${name} is required`);
    return v;
  }

  number(name: string, rule: NumberRule = {}): number | undefined {
    const s = this.string(name);
    return s === undefined ? undefined : parseNumber(this.label(name), s, rule);
  }

  requireNumber(name: string, rule: NumberRule = {}): number {
    const v = this.number(name, rule);
    if (v === undefined) throw new UsageError(`--${name} is required`);
    return v;
  }

  /** A positive (or, with min 0, non-negative) safe integer. */
  int(name: string, rule: { min?: number; max?: number } = {}): number | undefined {
    const s = this.string(name);
    if (s === undefined) return undefined;
    const label = this.label(name);
    if (!/^[+]?\d+$/.test(s.trim())) throw new UsageError(`${label}: expected a whole number, got "${s}"`);
    const v = Number(s);
    const min = rule.min ?? 1;
    if (!Number.isSafeInteger(v) || v < min) {
      throw new UsageError(`${label}: expected a whole number ≥ ${min}, got "${s}"`);
    }
    if (rule.max !== undefined && v > rule.max)
      throw new UsageError(`${label}: must be ≤ ${rule.max}, got ${v}`);
    return v;
  }

  requireInt(name: string, rule: { min?: number; max?: number } = {}): number {
    const v = this.int(name, rule);
    if (v === undefined) throw new UsageError(`--${name} is required`);
    return v;
  }

  choice<T extends string>(name: string, choices: readonly T[], fallback?: T): T | undefined {
    const s = this.string(name);
    if (s === undefined) return fallback;
    if (!(choices as readonly string[]).includes(s)) {
      throw new UsageError(
        `${this.label(name)}: unknown value "${s}"; expected one of ${choices.join(", ")}${didYouMean(s, choices)}`,
      );
    }
    return s as T;
  }

  /** Comma-separated numbers, e.g. --orders 1.5,2,8.5 */
  numberList(name: string, rule: NumberRule = {}): number[] | undefined {
    const s = this.string(name);
    if (s === undefined) return undefined;
    const parts = s.split(",").map((p) => p.trim());
    if (parts.some((p) => p === "")) throw new UsageError(`${this.label(name)}: empty item in list "${s}"`);
    return parts.map((p) => parseNumber(this.label(name), p, rule));
  }
}

export function parseNumber(label: string, s: string, rule: NumberRule = {}): number {
  const t = s.trim().toLowerCase();
  let v: number;
  if (rule.allowInfinity && (t === "inf" || t === "infinity" || t === "+inf")) v = Number.POSITIVE_INFINITY;
  else if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t))
    throw new UsageError(`${label}: not a number: "${s}"`);
  else v = Number(t);
  if (Number.isNaN(v) || (!Number.isFinite(v) && !rule.allowInfinity)) {
    throw new UsageError(`${label}: not a finite number: "${s}"`);
  }
  if (rule.min !== undefined && v < rule.min)
    throw new UsageError(`${label}: must be ≥ ${rule.min}, got ${s}`);
  if (rule.max !== undefined && v > rule.max)
    throw new UsageError(`${label}: must be ≤ ${rule.max}, got ${s}`);
  if (rule.gt !== undefined && !(v > rule.gt))
    throw new UsageError(`${label}: must be > ${rule.gt}, got ${s}`);
  if (rule.lt !== undefined && !(v < rule.lt))
    throw new UsageError(`${label}: must be < ${rule.lt}, got ${s}`);
  return v;
}
