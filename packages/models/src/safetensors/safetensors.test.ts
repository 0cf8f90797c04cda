import assert from "node:assert/strict";
import { test } from "node:test";
import { bf16ToF32, f16ArrayToF32, f16ToF32, f32ArrayToF16, f32ToF16 } from "./half.js";
import { readSafetensors, SafetensorsError, writeSafetensors } from "./safetensors.js";

function fileWith(header: unknown, data: Uint8Array, lenOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lenOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

test("F32 round trip keeps names, shapes, values and metadata; header is 8-byte aligned", () => {
  const a = { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-30, -0, 7]) };
  const b = { shape: [4], data: Float32Array.from([0.1, 0.2, 0.3, Number.POSITIVE_INFINITY]) };
  const bytes = writeSafetensors({ "x.weight": a, bias: b }, { format: "pt" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const f = readSafetensors(bytes);
  assert.deepEqual(f.metadata, { format: "pt" });
  assert.deepEqual([...f.tensors.keys()], ["x.weight", "bias"]);
  assert.deepEqual(f.tensors.get("x.weight")!.shape, [2, 3]);
  assert.deepEqual(f.tensors.get("x.weight")!.data, a.data);
  assert.deepEqual(f.tensors.get("bias")!.data, b.data);
});

test("known bytes: a hand-built file with one F32 tensor decodes to the right numbers", () => {
  const data = new Uint8Array(new Float32Array([1.5, -2]).buffer);
  const f = readSafetensors(fileWith({ t: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, data));
  assert.deepEqual([...f.tensors.get("t")!.data], [1.5, -2]);
});

test("F16 conversion is exact on representable values and rounds to nearest even", () => {
  assert.equal(f32ToF16(1), 0x3c00);
  assert.equal(f32ToF16(-2), 0xc000);
  assert.equal(f32ToF16(65504), 0x7bff);
  assert.equal(f32ToF16(1e6), 0x7c00);
  assert.equal(f32ToF16(2 ** -24), 0x0001);
  assert.equal(f32ToF16(1 + 2 ** -11), 0x3c00); // tie → even
  assert.equal(f32ToF16(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(f16ToF32(0x3555), 0.333251953125);
  assert.equal(bf16ToF32(0x3f80), 1);
  assert.equal(bf16ToF32(0xc040), -3);
  const vals = Float32Array.from([0.1, -0.25, 2.71, 1e-5, 100]);
  const back = readSafetensors(writeSafetensors({ v: { shape: [5], data: vals } }, {}, "F16")).tensors.get(
    "v",
  )!;
  assert.equal(back.dtype, "F16");
  for (let i = 0; i < 5; i++)
    assert.ok(Math.abs(back.data[i]! - vals[i]!) <= Math.max(Math.abs(vals[i]!) * 2 ** -11, 2 ** -25));
});

test("BF16 tensors are read", () => {
  const data = new Uint8Array(4);
  new DataView(data.buffer).setUint16(0, 0x3f80, true);
  new DataView(data.buffer).setUint16(2, 0x4049, true);
  const f = readSafetensors(fileWith({ w: { dtype: "BF16", shape: [2], data_offsets: [0, 4] } }, data));
  assert.deepEqual([...f.tensors.get("w")!.data], [1, 3.140625]);
});

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => readSafetensors(bytes),
    (e: unknown) => e instanceof SafetensorsError && e.code === "E_SAFETENSORS" && pattern.test(e.message),
  );
}

test("corrupt files are rejected with clear errors", () => {
  const d8 = new Uint8Array(8);
  rejects(new Uint8Array(5), /too short/);
  rejects(fileWith({}, d8, 10_000n), /runs past the end/);
  rejects(fileWith({}, d8, 1n << 40n), /exceeds/);
  const bad = fileWith({ t: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, d8);
  bad[9] = 0xff; // break the JSON
  rejects(bad, /not valid UTF-8 JSON/);
  rejects(fileWith([1, 2], d8), /JSON object/);
  rejects(fileWith({ t: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, d8), /unsupported dtype/);
  rejects(fileWith({ t: { dtype: "F32", shape: [-1], data_offsets: [0, 8] } }, d8), /shape/);
  rejects(fileWith({ t: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, d8), /needs 12/);
  rejects(fileWith({ t: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, d8), /beyond/);
  rejects(fileWith({ t: { dtype: "F32", shape: [1], data_offsets: [8, 4] } }, d8), /end 4 < begin 8/);
  rejects(fileWith({ t: { dtype: "F32", shape: [1], data_offsets: [0] } }, d8), /data_offsets/);
  rejects(
    fileWith(
      {
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
      },
      d8,
    ),
    /overlap/,
  );
  rejects(fileWith({ __metadata__: { k: 1 } }, d8), /__metadata__/);
});

test("writer rejects mismatched shapes and reserved names", () => {
  assert.throws(() => writeSafetensors({ t: { shape: [3], data: new Float32Array(2) } }), /needs 3 values/);
  assert.throws(
    () => writeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } }),
    /reserved/,
  );
});

test("array conversions equal the scalar ones: every F16 pattern, and random float32 values", () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const f = f16ArrayToF32(all);
  for (let h = 0; h < 65536; h++) {
    const want = f16ToF32(h);
    assert.ok(
      Object.is(f[h], Math.fround(want)) || (Number.isNaN(f[h]) && Number.isNaN(want)),
      `0x${h.toString(16)}`,
    );
  }
  let x = 12345;
  const vals = Float32Array.from({ length: 100_000 }, () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return ((x / 2 ** 32) * 2 - 1) * 2 ** ((x % 40) - 20);
  });
  const h = f32ArrayToF16(vals);
  for (let i = 0; i < vals.length; i++) assert.equal(h[i], f32ToF16(vals[i]!));
  const dst = new Float32Array(10);
  f16ArrayToF32(Uint16Array.of(0x3c00, 0xc000), dst, 3);
  assert.deepEqual(Array.from(dst.subarray(2, 6)), [0, 1, -2, 0]);
});
