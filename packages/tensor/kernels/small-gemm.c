/*
 * Batched small matrix products for the DP step on wasm (WebAssembly SIMD128), compiled by
 * scripts/build-kernels.sh into packages/tensor/src/kernels/small-gemm-wasm.ts.
 *
 * Why: tfjs-wasm issues one XNNPACK call per 2-D product; a DP step at the encoder's size forms
 * ~30k small per-example products (T 64, widths 24-384), and each call pays tensor creation, a copy
 * out of the heap and operator setup (docs/performance.md). Here a whole batch is one call, the
 * per-example squared norm is summed in registers without writing the product, and the clipped sum
 * sum_i w_i A_i B_i accumulates into one output.
 *
 * Operands (all float32, byte offsets into this module's memory): example b's A_b starts at
 * A + b*sab, its B_b at B + b*sbb; strides as in tiles.h (tb 1: B_b stored transposed).
 */
#include "tiles.h"
/* C_b = A_b B_b, C row-major [n][M][N]. */
EXPORT(bmm)
void bmm(int n, int M, int N, int K, const float *A, int sab, int sam, int sak, const float *B,
         int sbb, int ldb, int tb, float *scratch, float *C) {
  for (int b = 0; b < n; b++) {
    int ld;
    const float *Bb = panel(B, b, sbb, ldb, tb, K, N, scratch, &ld);
    tiles(WRITE, M, N, K, A + (long)b * sab, sam, sak, Bb, ld, 1.0f, C + (long)b * M * N, N);
  }
}

/* s[N] = the column sums of a K x N panel (rows ld apart); returns ||s||^2. */
static float colsums(int K, int N, const float *Bb, int ld, float *s) {
  for (int j = 0; j < N; j++) s[j] = 0.0f;
  for (int k = 0; k < K; k++) {
    const float *row = Bb + (long)k * ld;
    int j = 0;
    for (; j + 4 <= N; j += 4) wasm_v128_store(s + j, wasm_f32x4_add(wasm_v128_load(s + j), wasm_v128_load(row + j)));
    for (; j < N; j++) s[j] += row[j];
  }
  float q = 0.0f;
  for (int j = 0; j < N; j++) q += s[j] * s[j];
  return q;
}

/*
 * out[b] = ||A_b B_b||_F^2 (per-example gradient norms). keep null: the products are never written;
 * else product b is also stored at keep + b*M*N, for a later weighted sum (psum) without recomputing.
 * bias_out non-null: also bias_out[b] = ||1^T B_b||^2 (a bias's per-example norm, from the same copy of
 * B), its column sums written to bias_sums + b*N (N floats per example: kept, or scratch reused).
 */
EXPORT(sqnorms)
void sqnorms(int n, int M, int N, int K, const float *A, int sab, int sam, int sak, const float *B,
             int sbb, int ldb, int tb, float *scratch, float *out, float *keep, float *bias_out,
             float *bias_sums, int bias_stride) {
  for (int b = 0; b < n; b++) {
    int ld;
    const float *Bb = panel(B, b, sbb, ldb, tb, K, N, scratch, &ld);
    const float *Ab = A + (long)b * sab;
    out[b] = keep ? tiles(WRITE_SQUARES, M, N, K, Ab, sam, sak, Bb, ld, 1.0f, keep + (long)b * M * N, N)
                  : tiles(SQUARES, M, N, K, Ab, sam, sak, Bb, ld, 1.0f, 0, 0);
    if (bias_out) bias_out[b] = colsums(K, N, Bb, ld, bias_sums + (long)b * bias_stride);
  }
}

/* C[len] = sum_b w[b] P_b over n kept products of len floats each (w null: every weight 1; w[b] 0:
 * skipped) -- the clipped sum from products kept by sqnorms. */
EXPORT(psum)
void psum(int n, int len, const float *P, const float *w, float *C) {
  for (int i = 0; i < len; i++) C[i] = 0.0f;
  for (int b = 0; b < n; b++) {
    const float wb = w ? w[b] : 1.0f;
    if (wb == 0.0f) continue;
    const float *p = P + (long)b * len;
    const v128_t s = wasm_f32x4_splat(wb);
    int i = 0;
    for (; i + 4 <= len; i += 4)
      wasm_v128_store(C + i, wasm_f32x4_add(wasm_v128_load(C + i), wasm_f32x4_mul(s, wasm_v128_load(p + i))));
    for (; i < len; i++) C[i] += wb * p[i];
  }
}

/* C = sum_b w[b] A_b B_b into C [M][N] (overwritten); w null: every weight 1; w[b] 0: skipped. */
EXPORT(wsum)
void wsum(int n, int M, int N, int K, const float *A, int sab, int sam, int sak, const float *B,
          int sbb, int ldb, int tb, float *scratch, const float *w, float *C) {
  for (int i = 0; i < M * N; i++) C[i] = 0.0f;
  for (int b = 0; b < n; b++) {
    const float wb = w ? w[b] : 1.0f;
    if (wb == 0.0f) continue;
    int ld;
    const float *Bb = panel(B, b, sbb, ldb, tb, K, N, scratch, &ld);
    tiles(ACCUMULATE, M, N, K, A + (long)b * sab, sam, sak, Bb, ld, wb, C, N);
  }
}
