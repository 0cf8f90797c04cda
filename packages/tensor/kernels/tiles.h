/*
 * The tiled matrix-product loop shared by small-gemm.c and fused.c (one module, two translation
 * units; everything here is static and inlined into its callers).
 *
 *   A(m,k) = A[m*sam + k*sak]   -- strides make a transposed A free (sam 1, sak M);
 *   B(k,n) = B[k*ldb + n]       -- rows contiguous; a transposed B is first copied into a scratch
 *                                  panel (K*N floats) row-major by `panel`;
 *   C(m,n) = C[m*ldc + n].
 * The micro-kernel forms a 4 x 8 tile of C in eight v128 accumulators (V8 keeps 16 xmm registers).
 */
#ifndef MEMARC_TILES_H
#define MEMARC_TILES_H
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define MR 4
#define NR 8

/* acc[2r + j] += A(r, k) * B(k, 4j..4j+3) over k < K, for a full 4 x 8 tile. */
static inline __attribute__((always_inline)) void tile_full(int K, const float *A, int sam, int sak, const float *B, int ldb,
                             v128_t acc[8]) {
  v128_t c0 = acc[0], c1 = acc[1], c2 = acc[2], c3 = acc[3];
  v128_t c4 = acc[4], c5 = acc[5], c6 = acc[6], c7 = acc[7];
  const float *a = A;
  const float *b = B;
  for (int k = 0; k < K; k++, a += sak, b += ldb) {
    const v128_t b0 = wasm_v128_load(b);
    const v128_t b1 = wasm_v128_load(b + 4);
    v128_t s = wasm_f32x4_splat(a[0]);
    c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(s, b0));
    c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(s, b1));
    s = wasm_f32x4_splat(a[sam]);
    c2 = wasm_f32x4_add(c2, wasm_f32x4_mul(s, b0));
    c3 = wasm_f32x4_add(c3, wasm_f32x4_mul(s, b1));
    s = wasm_f32x4_splat(a[2 * sam]);
    c4 = wasm_f32x4_add(c4, wasm_f32x4_mul(s, b0));
    c5 = wasm_f32x4_add(c5, wasm_f32x4_mul(s, b1));
    s = wasm_f32x4_splat(a[3 * sam]);
    c6 = wasm_f32x4_add(c6, wasm_f32x4_mul(s, b0));
    c7 = wasm_f32x4_add(c7, wasm_f32x4_mul(s, b1));
  }
  acc[0] = c0; acc[1] = c1; acc[2] = c2; acc[3] = c3;
  acc[4] = c4; acc[5] = c5; acc[6] = c6; acc[7] = c7;
}

/* c[r*NR + j] += sum_k A(r,k) B(k,j) for an edge tile of mr x nr (mr <= 4, nr <= 8). */
static void tile_edge(int K, const float *A, int sam, int sak, const float *B, int ldb, int mr, int nr,
                      float *c) {
  for (int k = 0; k < K; k++)
    for (int r = 0; r < mr; r++) {
      const float av = A[r * sam + k * sak];
      for (int j = 0; j < nr; j++) c[r * NR + j] += av * B[k * ldb + j];
    }
}

/* B_b, transposed in memory (B_b(k,n) = src[n*ld + k]), copied row-major into dst[K*N]. */
static void transpose_into(const float *src, int ld, int K, int N, float *dst) {
  for (int n = 0; n < N; n++)
    for (int k = 0; k < K; k++) dst[k * N + n] = src[n * ld + k];
}

/* Resolve B_b: rows contiguous (tb 0) or transposed through scratch (tb 1). */
static const float *panel(const float *B, int b, int sbb, int ldb, int tb, int K, int N,
                          float *scratch, int *ld) {
  const float *src = B + (long)b * sbb;
  if (!tb) {
    *ld = ldb;
    return src;
  }
  transpose_into(src, ldb, K, N, scratch);
  *ld = N;
  return scratch;
}

/* What a pass over one product's tiles does with each tile. It is a constant at every call site and
 * `tiles` is always inlined, so each entry point gets its own loop with the mode folded away: left to
 * clang's judgement the loop stayed shared and ran 20-30 % slower (sqnorms 31 -> 23 GFLOP/s). */
enum mode { WRITE, SQUARES, WRITE_SQUARES, ACCUMULATE };

/*
 * Every 4 x 8 tile of A·B (M x N, inner K): WRITE stores scale·tile into C (rows ldc apart),
 * SQUARES returns the sum of the tile's squares and leaves C alone, WRITE_SQUARES does both, and
 * ACCUMULATE adds scale·tile to C. The tile itself is always formed unscaled, so `scale` costs one
 * multiply per output rather than one per multiply-add (SQUARES ignores it).
 */
static inline __attribute__((always_inline)) float tiles(enum mode mode, int M, int N, int K, const float *Ab, int sam, int sak,
                          const float *Bb, int ld, float scale, float *C, int ldc) {
  v128_t s = wasm_f32x4_splat(0.0f);
  const v128_t sc = wasm_f32x4_splat(scale);
  float edge = 0.0f;
  for (int m0 = 0; m0 < M; m0 += MR)
    for (int n0 = 0; n0 < N; n0 += NR) {
      const int mr = M - m0 < MR ? M - m0 : MR, nr = N - n0 < NR ? N - n0 : NR;
      if (mr == MR && nr == NR) {
        v128_t acc[8];
        for (int i = 0; i < 8; i++) acc[i] = wasm_f32x4_splat(0.0f);
        tile_full(K, Ab + m0 * sam, sam, sak, Bb + n0, ld, acc);
        if (mode == SQUARES || mode == WRITE_SQUARES)
          for (int i = 0; i < 8; i++) s = wasm_f32x4_add(s, wasm_f32x4_mul(acc[i], acc[i]));
        if (mode != SQUARES)
          for (int r = 0; r < MR; r++)
            for (int h = 0; h < 2; h++) {
              float *out = C + (m0 + r) * ldc + n0 + 4 * h;
              const v128_t v = wasm_f32x4_mul(sc, acc[2 * r + h]);
              wasm_v128_store(out, mode == ACCUMULATE ? wasm_f32x4_add(wasm_v128_load(out), v) : v);
            }
      } else {
        float c[MR * NR] = {0};
        tile_edge(K, Ab + m0 * sam, sam, sak, Bb + n0, ld, mr, nr, c);
        for (int r = 0; r < mr; r++)
          for (int j = 0; j < nr; j++) {
            const float v = c[r * NR + j];
            if (mode == SQUARES || mode == WRITE_SQUARES) edge += v * v;
            if (mode == ACCUMULATE) C[(m0 + r) * ldc + n0 + j] += scale * v;
            else if (mode != SQUARES) C[(m0 + r) * ldc + n0 + j] = scale * v;
          }
      }
    }
  return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) +
         wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3) + edge;
}

#endif
