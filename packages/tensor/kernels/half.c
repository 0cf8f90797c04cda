/*
 * IEEE half (F16) -> float32, exactly, eight values per step (WebAssembly SIMD128). Why: the side
 * network's cached frozen-backbone features are stored as F16 and widened for every micro-batch
 * (5.5 M values for 32 examples at the encoder's size); a table lookup per value in JavaScript cost
 * ~10 % of a side DP step (docs/performance.md).
 *
 * The bit trick of F. Giesen's half_to_float: shift exponent and mantissa into place and rebias the
 * exponent; Inf/NaN get the largest exponent; zeros and subnormals are renormalised by one exact
 * float subtraction. Exact for all 65,536 inputs (NaN payloads are kept).
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

static inline v128_t widen(v128_t h) {
  const v128_t shifted_exp = wasm_i32x4_splat(0x7c00 << 13);
  v128_t o = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x7fff)), 13);
  const v128_t exp = wasm_v128_and(o, shifted_exp);
  o = wasm_i32x4_add(o, wasm_i32x4_splat((127 - 15) << 23));
  o = wasm_i32x4_add(o, wasm_v128_and(wasm_i32x4_eq(exp, shifted_exp), wasm_i32x4_splat((128 - 16) << 23)));
  const v128_t sub = wasm_f32x4_sub(wasm_i32x4_add(o, wasm_i32x4_splat(1 << 23)), wasm_i32x4_splat(113 << 23));
  o = wasm_v128_bitselect(sub, o, wasm_i32x4_eq(exp, wasm_i32x4_splat(0)));
  return wasm_v128_or(o, wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16));
}

/* dst[i] = the float32 value of F16 bits src[i], i < n. */
EXPORT(f16_to_f32)
void f16_to_f32(int n, const unsigned short *src, float *dst) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const v128_t h = wasm_v128_load(src + i);
    wasm_v128_store(dst + i, widen(wasm_u32x4_extend_low_u16x8(h)));
    wasm_v128_store(dst + i + 4, widen(wasm_u32x4_extend_high_u16x8(h)));
  }
  for (; i < n; i++) {
    float out[4];
    wasm_v128_store(out, widen(wasm_i32x4_splat(src[i])));
    dst[i] = out[0];
  }
}
