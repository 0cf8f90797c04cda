/**
 * The safetensors format (https://github.com/huggingface/safetensors), pure TypeScript:
 *   [u64 little-endian N][N bytes of JSON header][data]
 * The header maps tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to
 * the start of the data section), plus an optional "__metadata__" map of strings. Reading checks
 * everything a corrupt or hostile file could get wrong, because weights arrive over the network.
 */
import { bf16ToF32, f16ToF32, f32ToF16 } from "./half.js";

export class SafetensorsError extends Error {
  readonly code = "E_SAFETENSORS";
  constructor(message: string) {
    super(message);
    this.name = "SafetensorsError";
  }
}

export type Dtype = "F32" | "F16" | "BF16";
const BYTES: Record<Dtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface NamedTensor {
  shape: number[];
  /** Always float32 in memory; `dtype` says how it was (or will be) stored. */
  data: Float32Array;
  dtype?: Dtype;
}

export interface SafetensorsFile {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

/** Header larger than this is refused (the reference implementation's limit is 100 MB). */
const MAX_HEADER = 100_000_000;

export function readSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8)
    throw new SafetensorsError(`file too short (${bytes.length} bytes) for a header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > MAX_HEADER) throw new SafetensorsError(`header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
  if (8 + n > bytes.length)
    throw new SafetensorsError(`header length ${n} runs past the end of the ${bytes.length}-byte file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (err) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    throw new SafetensorsError("header must be a JSON object");
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors = new Map<string, NamedTensor>();
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw))
        throw new SafetensorsError("__metadata__ must be an object of strings");
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== "string") throw new SafetensorsError(`__metadata__.${k} must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== "object" || info === null)
      throw new SafetensorsError(`tensor "${name}": entry must be an object`);
    if (info.dtype !== "F32" && info.dtype !== "F16" && info.dtype !== "BF16")
      throw new SafetensorsError(
        `tensor "${name}": unsupported dtype ${JSON.stringify(info.dtype)} (F32, F16, BF16)`,
      );
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new SafetensorsError(`tensor "${name}": shape must be an array of non-negative integers`);
    const off = info.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new SafetensorsError(`tensor "${name}": data_offsets must be [begin, end] non-negative integers`);
    const [begin, end] = off as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const dtype = info.dtype as Dtype;
    if (end < begin) throw new SafetensorsError(`tensor "${name}": data_offsets end ${end} < begin ${begin}`);
    if (end - begin !== count * BYTES[dtype])
      throw new SafetensorsError(
        `tensor "${name}": ${end - begin} bytes stored but shape [${shape.join(",")}] of ${dtype} needs ${count * BYTES[dtype]}`,
      );
    if (end > dataLen)
      throw new SafetensorsError(
        `tensor "${name}": data_offsets end ${end} beyond the ${dataLen}-byte data section`,
      );
    spans.push({ name, begin, end });
    tensors.set(name, {
      shape: shape as number[],
      dtype,
      data: decode(bytes, dataStart + begin, count, dtype),
    });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1]!;
    const cur = spans[i]!;
    if (cur.begin < prev.end)
      throw new SafetensorsError(`tensors "${prev.name}" and "${cur.name}" overlap in the data section`);
  }
  return { tensors, metadata };
}

function decode(bytes: Uint8Array, at: number, count: number, dtype: Dtype): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, count * BYTES[dtype]);
  const out = new Float32Array(count);
  if (dtype === "F32") for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  else if (dtype === "F16") for (let i = 0; i < count; i++) out[i] = f16ToF32(view.getUint16(i * 2, true));
  else for (let i = 0; i < count; i++) out[i] = bf16ToF32(view.getUint16(i * 2, true));
  return out;
}

/**
 * Serialise tensors (in insertion order, 8-byte aligned header as the reference writer does).
 * Each tensor is stored as its `dtype` (default `dtype` argument): F32, or F16 converted with
 * round-to-nearest-even. BF16 is read-only.
 */
export function writeSafetensors(
  tensors: Map<string, NamedTensor> | Record<string, NamedTensor>,
  metadata: Record<string, string> = {},
  dtype: "F32" | "F16" = "F32",
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header["__metadata__"] = metadata;
  let offset = 0;
  const plan: { data: Float32Array; dt: Dtype; at: number }[] = [];
  for (const [name, t] of entries) {
    if (name === "__metadata__") throw new SafetensorsError('"__metadata__" is reserved, not a tensor name');
    const dt = t.dtype ?? dtype;
    if (dt === "BF16") throw new SafetensorsError(`tensor "${name}": writing BF16 is not supported`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length)
      throw new SafetensorsError(
        `tensor "${name}": shape [${t.shape.join(",")}] needs ${count} values, got ${t.data.length}`,
      );
    const size = count * BYTES[dt];
    header[name] = { dtype: dt, shape: t.shape, data_offsets: [offset, offset + size] };
    plan.push({ data: t.data, dt, at: offset });
    offset += size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = new TextEncoder().encode(JSON.stringify(header) + " ".repeat(pad));
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  const base = 8 + json.length;
  for (const p of plan) {
    if (p.dt === "F32")
      for (let i = 0; i < p.data.length; i++) view.setFloat32(base + p.at + i * 4, p.data[i]!, true);
    else
      for (let i = 0; i < p.data.length; i++) view.setUint16(base + p.at + i * 2, f32ToF16(p.data[i]!), true);
  }
  return out;
}
