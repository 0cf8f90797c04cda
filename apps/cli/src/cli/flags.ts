/**
 * Typed access to parsed command-line values. Every getter validates and, on failure, throws a
 * UsageError whose message starts with the flag's name, so a user knows exactly what to fix.
 */
import { UsageError } from "./errors.js";

export type RawValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

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
  constructor(private readonly values: RawValues) {}

  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  bool(name: string): boolean {
    return this.values[name] === true;
  }

  string(name: string): string | undefined {
    const v = this.values[name];
    if (v === undefined) return undefined;
    if (typeof v !== "string") throw new UsageError(`--${name}: expected a value`);
    if (v.trim() === "") throw new UsageError(`--${name}: value is empty`);
    return v;
  }

  /** Every value of a flag that may repeat (`--text a --text b`); [] when absent. */
  strings(name: string): string[] {
    const v = this.values[name];
    if (v === undefined) return [];
    const list = Array.isArray(v) ? v : [v];
    return list.map((x) => {
      if (typeof x !== "string") throw new UsageError(`--${name}: expected a value`);
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
    return s === undefined ? undefined : parseNumber(`--${name}`, s, rule);
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
    if (!/^[+]?\d+$/.test(s.trim())) throw new UsageError(`--${name}: expected a whole number, got "${s}"`);
    const v = Number(s);
    const min = rule.min ?? 1;
    if (!Number.isSafeInteger(v) || v < min) {
      throw new UsageError(`--${name}: expected a whole number ≥ ${min}, got "${s}"`);
    }
    if (rule.max !== undefined && v > rule.max)
      throw new UsageError(`--${name}: must be ≤ ${rule.max}, got ${v}`);
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
      throw new UsageError(`--${name}: unknown value "${s}"; expected one of ${choices.join(", ")}`);
    }
    return s as T;
  }

  /** Comma-separated numbers, e.g. --orders 1.5,2,8.5 */
  numberList(name: string, rule: NumberRule = {}): number[] | undefined {
    const s = this.string(name);
    if (s === undefined) return undefined;
    const parts = s.split(",").map((p) => p.trim());
    if (parts.some((p) => p === "")) throw new UsageError(`--${name}: empty item in list "${s}"`);
    return parts.map((p) => parseNumber(`--${name}`, p, rule));
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
