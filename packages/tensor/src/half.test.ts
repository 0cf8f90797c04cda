import assert from "node:assert/strict";
import { before, test } from "node:test";
import { initBackend } from "./backend.js";
import { halvesToTensor, widenHalves } from "./half.js";

before(async () => {
  await initBackend({ log: null });
});

test("F16 → float32 in the kernel is exact for all 65,536 bit patterns (NaN stays NaN), at any offset", () => {
  const all = Uint16Array.from({ length: 65536 }, (_, h) => h);
  const want = f16ArrayToF32Reference(all);
  // Uneven parts: the kernel's 8-wide body and its scalar tail both meet every kind of value.
  const parts = [all.subarray(0, 3), all.subarray(3, 40_003), all.subarray(40_003)];
  const got = widenHalves(parts, (v) => v.slice());
  assert.equal(got.length, 65536);
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(want[h]!)) assert.ok(Number.isNaN(got[h]!), `${h}`);
    else assert.ok(Object.is(got[h], want[h]), `F16 ${h.toString(16)}: ${got[h]} vs ${want[h]}`);
  }
  const t = halvesToTensor([Uint16Array.of(0x3c00, 0xc000), Uint16Array.of(0x7bff)], [3]);
  assert.deepEqual(Array.from(t.dataSync()), [1, -2, 65504]);
});

/** The definition: sign · 2^(e−15) · (1 + m/1024), subnormals 2^−14 · m/1024, e = 31 ∞/NaN. */
function f16ArrayToF32Reference(src: Uint16Array): Float32Array {
  return Float32Array.from(src, (h) => {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) return s * m * 2 ** -24;
    if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
    return s * (1 + m / 1024) * 2 ** (e - 15);
  });
}
