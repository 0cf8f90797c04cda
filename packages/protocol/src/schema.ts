/**
 * A deliberately small schema validator for decoded wire data. Every schema parses `unknown` into a
 * typed value or throws a SchemaError naming the path ("update.delta[3].shape[1]: ..."). Objects are
 * closed: unknown keys, accessors and non-plain prototypes are rejected, so nothing a peer sends can
 * smuggle extra fields (or a `__proto__`) past the validator.
 */
import { SchemaError } from "./errors.js";

export interface Schema<T> {
  /** Human description for error messages. */
  readonly describe: string;
  /** Optional object members may be absent (or undefined). */
  readonly optional?: boolean;
  parse(value: unknown, path: string): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function fail(path: string, msg: string): never {
  throw new SchemaError(`${path}: ${msg}`, { path });
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (typeof v === "object") {
    const proto = Object.getPrototypeOf(v);
    return proto === Object.prototype || proto === null ? "object" : (proto?.constructor?.name ?? "object");
  }
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return typeof v;
}

export interface StringRule {
  min?: number;
  max: number;
  pattern?: RegExp;
}

export function str(rule: StringRule): Schema<string> {
  const min = rule.min ?? 0;
  return {
    describe: "string",
    parse(v, path) {
      if (typeof v !== "string") fail(path, `expected a string, got ${typeName(v)}`);
      if (v.length < min) fail(path, `string shorter than ${min}`);
      if (v.length > rule.max) fail(path, `string longer than ${rule.max} characters`);
      if (rule.pattern && !rule.pattern.test(v)) fail(path, `string does not match ${rule.pattern}`);
      return v;
    },
  };
}

export function oneOf<const T extends string>(values: readonly T[]): Schema<T> {
  return {
    describe: values.join("|"),
    parse(v, path) {
      if (typeof v !== "string" || !(values as readonly string[]).includes(v))
        fail(path, `expected one of ${values.join(", ")}`);
      return v as T;
    },
  };
}

export function literal<const T extends string | number | boolean>(value: T): Schema<T> {
  return {
    describe: JSON.stringify(value),
    parse(v, path) {
      if (v !== value) fail(path, `expected ${JSON.stringify(value)}`);
      return value;
    },
  };
}

export interface NumberRule {
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  gt?: number;
  /** Exclusive upper bound. */
  lt?: number;
}

/** A finite number (NaN and ±Infinity are always rejected). */
export function num(rule: NumberRule = {}): Schema<number> {
  return {
    describe: "number",
    parse(v, path) {
      if (typeof v !== "number") fail(path, `expected a number, got ${typeName(v)}`);
      if (!Number.isFinite(v)) fail(path, `expected a finite number, got ${v}`);
      if (rule.min !== undefined && v < rule.min) fail(path, `must be ≥ ${rule.min}, got ${v}`);
      if (rule.max !== undefined && v > rule.max) fail(path, `must be ≤ ${rule.max}, got ${v}`);
      if (rule.gt !== undefined && !(v > rule.gt)) fail(path, `must be > ${rule.gt}, got ${v}`);
      if (rule.lt !== undefined && !(v < rule.lt)) fail(path, `must be < ${rule.lt}, got ${v}`);
      return v;
    },
  };
}

/** A safe integer within [min, max] (defaults: [0, MAX_SAFE_INTEGER]). */
export function int(rule: { min?: number; max?: number } = {}): Schema<number> {
  const min = rule.min ?? 0;
  const max = rule.max ?? Number.MAX_SAFE_INTEGER;
  return {
    describe: "integer",
    parse(v, path) {
      if (typeof v !== "number" || !Number.isSafeInteger(v))
        fail(path, `expected an integer, got ${typeName(v)}`);
      if (v < min || v > max) fail(path, `must be in [${min}, ${max}], got ${v}`);
      return v;
    },
  };
}

export function bool(): Schema<boolean> {
  return {
    describe: "boolean",
    parse(v, path) {
      if (typeof v !== "boolean") fail(path, `expected a boolean, got ${typeName(v)}`);
      return v;
    },
  };
}

/** Binary data (msgpack bin decodes to a Buffer, which is a Uint8Array). */
export function bytes(rule: { length?: number; max?: number } = {}): Schema<Uint8Array> {
  return {
    describe: "bytes",
    parse(v, path) {
      if (!(v instanceof Uint8Array)) fail(path, `expected bytes, got ${typeName(v)}`);
      if (rule.length !== undefined && v.length !== rule.length)
        fail(path, `expected ${rule.length} bytes, got ${v.length}`);
      if (rule.max !== undefined && v.length > rule.max) fail(path, `more than ${rule.max} bytes`);
      return v;
    },
  };
}

/** A Float32Array whose every value is finite. */
export function float32(rule: { maxLength: number }): Schema<Float32Array> {
  return {
    describe: "Float32Array",
    parse(v, path) {
      if (!(v instanceof Float32Array)) fail(path, `expected float32 data, got ${typeName(v)}`);
      if (v.length > rule.maxLength) fail(path, `more than ${rule.maxLength} values`);
      const i = firstNonFinite(v);
      if (i >= 0) fail(path, `value ${v[i]} at index ${i} is not finite`);
      return v;
    },
  };
}

/** Index of the first NaN/±Inf, or -1. `x - x` is NaN exactly for NaN and ±Infinity. */
export function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    if (x - x !== 0) return i;
  }
  return -1;
}

export function array<T>(item: Schema<T>, rule: { min?: number; max: number }): Schema<T[]> {
  const min = rule.min ?? 0;
  return {
    describe: `${item.describe}[]`,
    parse(v, path) {
      if (!Array.isArray(v)) fail(path, `expected an array, got ${typeName(v)}`);
      if (v.length < min) fail(path, `expected at least ${min} items`);
      if (v.length > rule.max) fail(path, `more than ${rule.max} items`);
      const out: T[] = new Array(v.length);
      for (let i = 0; i < v.length; i++) out[i] = item.parse(v[i], `${path}[${i}]`);
      return out;
    },
  };
}

export function nullable<T>(s: Schema<T>): Schema<T | null> {
  return {
    describe: `${s.describe}|null`,
    parse(v, path) {
      return v === null ? null : s.parse(v, path);
    },
  };
}

export function optional<T>(s: Schema<T>): Schema<T | undefined> {
  return {
    describe: `${s.describe}?`,
    optional: true,
    parse(v, path) {
      return v === undefined ? undefined : s.parse(v, path);
    },
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = {
  [K in keyof S]: S[K] extends { optional: true } ? K : undefined extends Infer<S[K]> ? K : never;
}[keyof S];
type ObjectOf<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & {
  [K in OptionalKeys<S>]?: Infer<S[K]>;
};

/** A closed object: every key in `shape`, nothing else. */
export function object<S extends Shape>(shape: S): Schema<{ [K in keyof ObjectOf<S>]: ObjectOf<S>[K] }> {
  const keys = Object.keys(shape);
  return {
    describe: "object",
    parse(v, path) {
      if (!isPlainObject(v)) fail(path, `expected an object, got ${typeName(v)}`);
      for (const k of Object.keys(v)) {
        if (!Object.hasOwn(shape, k)) fail(path, `unknown key "${k.slice(0, 64)}"`);
      }
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const s = shape[k] as Schema<unknown>;
        const desc = Object.getOwnPropertyDescriptor(v, k);
        if (desc && !("value" in desc)) fail(`${path}.${k}`, "accessor properties are not allowed");
        const val = desc?.value;
        if (val === undefined && !s.optional) fail(`${path}.${k}`, "missing");
        const parsed = s.parse(val, `${path}.${k}`);
        if (parsed !== undefined) out[k] = parsed;
      }
      return out as { [K in keyof ObjectOf<S>]: ObjectOf<S>[K] };
    },
  };
}

/** A string-keyed map with bounded size and key syntax (e.g. metrics). */
export function record<T>(
  value: Schema<T>,
  rule: { maxKeys: number; keyPattern: RegExp; maxKeyLength: number },
): Schema<Record<string, T>> {
  return {
    describe: `record<${value.describe}>`,
    parse(v, path) {
      if (!isPlainObject(v)) fail(path, `expected an object, got ${typeName(v)}`);
      const ks = Object.keys(v);
      if (ks.length > rule.maxKeys) fail(path, `more than ${rule.maxKeys} keys`);
      const out: Record<string, T> = {};
      for (const k of ks) {
        if (k.length > rule.maxKeyLength || !rule.keyPattern.test(k))
          fail(
            path,
            `bad key "${k.slice(0, 64)}" (must match ${rule.keyPattern}, ≤ ${rule.maxKeyLength} chars)`,
          );
        const desc = Object.getOwnPropertyDescriptor(v, k);
        if (desc && !("value" in desc)) fail(`${path}.${k}`, "accessor properties are not allowed");
        // defineProperty: a key like "__proto__" becomes an own property, never a prototype change.
        Object.defineProperty(out, k, {
          value: value.parse(desc?.value, `${path}.${k}`),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    },
  };
}

/** A union discriminated by a string field (usually "type"). */
export function tagged<T extends object>(field: string, variants: { [tag: string]: Schema<T> }): Schema<T> {
  const tags = Object.keys(variants);
  return {
    describe: tags.join("|"),
    parse(v, path) {
      if (!isPlainObject(v)) fail(path, `expected an object, got ${typeName(v)}`);
      const tag = v[field];
      if (typeof tag !== "string" || !Object.hasOwn(variants, tag))
        fail(`${path}.${field}`, `expected one of ${tags.join(", ")}`);
      return (variants[tag] as Schema<T>).parse(v, `${path}`);
    },
  };
}
