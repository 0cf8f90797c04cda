/*
 * Fused transformer pieces for wasm (WebAssembly SIMD128): layer normalisation, exact (erf) GELU and
 * the multi-head attention core, each forward and backward in one call.
 *
 * Why: through tfjs each of them is a chain of small kernels (LayerNorm's normalisation ~8 forward
 * and ~15 backward, GELU 5 + 11, attention ~12 + ~20 with the head transposes), and on the side
 * network's [2048 x 48] tensors every kernel is mostly engine overhead (docs/performance.md). Here
 * each is one pass over its data; the attention's products go through the tile loop of tiles.h with
 * the heads read by stride, so no head is ever transposed.
 *
 * Layouts (float32, row-major, byte offsets into this module's memory): rows x d for the
 * element-wise pieces; attention's q, k, v, ctx and their gradients [B][T][D] with D = H*hd (head h
 * is columns h*hd .. h*hd+hd-1), probabilities P [B][H][T][T].
 */
#include "tiles.h"

/* e^x for four floats: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite, two-part ln2), e^r by its
 * degree-7 Taylor polynomial (truncation < 2e-9 relative), 2^n through the exponent bits. Below
 * -87.3 (the smallest normal float) it returns exactly 0: the attention's masked scores (-1e9)
 * vanish; above 88.7 it returns +inf. Every caller here passes x <= 0. */
static inline v128_t exp4(v128_t x) {
  const v128_t under = wasm_f32x4_lt(x, wasm_f32x4_splat(-87.3f));
  x = wasm_f32x4_max(wasm_f32x4_min(x, wasm_f32x4_splat(88.7f)), wasm_f32x4_splat(-87.3f));
  const v128_t n = wasm_f32x4_floor(
      wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)), wasm_f32x4_splat(0.5f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693145751953125f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(1.42860682030941723212e-6f)));
  static const float c[8] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f};
  v128_t p = wasm_f32x4_splat(c[0]);
  for (int i = 1; i < 8; i++) p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(c[i]));
  const v128_t two = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_v128_andnot(wasm_f32x4_mul(p, two), under);
}

/* erf(z) for four floats given e = exp(-z^2): Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7, the
 * formula tfjs's own cpu Erf kernel uses), odd in z. */
static inline v128_t erf4_given_exp(v128_t z, v128_t e) {
  const v128_t az = wasm_f32x4_abs(z);
  const v128_t t = wasm_f32x4_div(wasm_f32x4_splat(1.0f),
                                  wasm_f32x4_add(wasm_f32x4_splat(1.0f), wasm_f32x4_mul(wasm_f32x4_splat(0.3275911f), az)));
  static const float a[5] = {1.061405429f, -1.453152027f, 1.421413741f, -0.284496736f, 0.254829592f};
  v128_t poly = wasm_f32x4_splat(a[0]);
  for (int i = 1; i < 5; i++) poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(a[i]));
  poly = wasm_f32x4_mul(poly, t);
  const v128_t y = wasm_f32x4_sub(wasm_f32x4_splat(1.0f), wasm_f32x4_mul(poly, e));
  const v128_t sign = wasm_i32x4_splat((int)0x80000000);
  return wasm_v128_or(y, wasm_v128_and(z, sign)); /* y >= 0: copy z's sign */
}

/* Loads up to four floats (the rest 0), so that tails run through the same vector code as the body
 * and every element gets bit-identical arithmetic. */
static inline v128_t load_n(const float *p, int n) {
  if (n >= 4) return wasm_v128_load(p);
  float b[4] = {0, 0, 0, 0};
  for (int i = 0; i < n; i++) b[i] = p[i];
  return wasm_v128_load(b);
}

static inline void store_n(float *p, v128_t v, int n) {
  if (n >= 4) {
    wasm_v128_store(p, v);
    return;
  }
  float b[4];
  wasm_v128_store(b, v);
  for (int i = 0; i < n; i++) p[i] = b[i];
}

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

/* Phi(x) = 0.5 (1 + erf(x / sqrt 2)) and e = exp(-x^2 / 2) (phi(x) sqrt(2 pi)) for four floats. */
static inline v128_t cdf4(v128_t x, v128_t *e) {
  *e = exp4(wasm_f32x4_mul(wasm_f32x4_splat(-0.5f), wasm_f32x4_mul(x, x)));
  const v128_t erf = erf4_given_exp(wasm_f32x4_mul(x, wasm_f32x4_splat(INV_SQRT2)), *e);
  return wasm_f32x4_mul(wasm_f32x4_splat(0.5f), wasm_f32x4_add(wasm_f32x4_splat(1.0f), erf));
}

/* y = x * Phi(x) for n values. */
EXPORT(gelu_fwd)
void gelu_fwd(int n, const float *x, float *y) {
  for (int i = 0; i < n; i += 4) {
    const v128_t v = load_n(x + i, n - i);
    v128_t e;
    store_n(y + i, wasm_f32x4_mul(v, cdf4(v, &e)), n - i);
  }
}

/* dx = dy * (Phi(x) + x phi(x)), phi the standard normal density. */
EXPORT(gelu_bwd)
void gelu_bwd(int n, const float *x, const float *dy, float *dx) {
  for (int i = 0; i < n; i += 4) {
    const v128_t v = load_n(x + i, n - i);
    v128_t e;
    const v128_t cdf = cdf4(v, &e);
    const v128_t slope = wasm_f32x4_add(cdf, wasm_f32x4_mul(v, wasm_f32x4_mul(wasm_f32x4_splat(INV_SQRT_2PI), e)));
    store_n(dx + i, wasm_f32x4_mul(load_n(dy + i, n - i), slope), n - i);
  }
}

/* row[s] = exp(row[s] - m) for s < T; returns their sum. */
static inline float exp_row(float *row, int T, float m) {
  v128_t acc = wasm_f32x4_splat(0.0f);
  const v128_t mv = wasm_f32x4_splat(m);
  for (int s = 0; s < T; s += 4) {
    const int k = T - s;
    v128_t e = exp4(wasm_f32x4_sub(load_n(row + s, k), mv));
    if (k < 4) { /* the padding lanes held 0 - m: keep them out of the sum */
      const v128_t lanes = wasm_i32x4_make(0, 1, 2, 3);
      e = wasm_v128_and(e, wasm_i32x4_lt(lanes, wasm_i32x4_splat(k)));
    }
    store_n(row + s, e, k);
    acc = wasm_f32x4_add(acc, e);
  }
  return wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) + wasm_f32x4_extract_lane(acc, 2) +
         wasm_f32x4_extract_lane(acc, 3);
}

/* Per row of d values: xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps) (population variance,
 * two passes, as tf.moments). */
EXPORT(ln_fwd)
void ln_fwd(int rows, int d, const float *x, float eps, float *xhat, float *rstd) {
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (long)r * d;
    float *o = xhat + (long)r * d;
    float mean = 0.0f;
    for (int j = 0; j < d; j++) mean += xr[j];
    mean /= (float)d;
    float var = 0.0f;
    for (int j = 0; j < d; j++) {
      const float c = xr[j] - mean;
      var += c * c;
    }
    const float s = 1.0f / __builtin_sqrtf(var / (float)d + eps);
    for (int j = 0; j < d; j++) o[j] = (xr[j] - mean) * s;
    rstd[r] = s;
  }
}

/* The normalisation's gradient: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dL/dxhat. */
EXPORT(ln_bwd)
void ln_bwd(int rows, int d, const float *g, const float *xhat, const float *rstd, float *dx) {
  for (int r = 0; r < rows; r++) {
    const float *gr = g + (long)r * d;
    const float *hr = xhat + (long)r * d;
    float *o = dx + (long)r * d;
    float mg = 0.0f, mgh = 0.0f;
    for (int j = 0; j < d; j++) {
      mg += gr[j];
      mgh += gr[j] * hr[j];
    }
    mg /= (float)d;
    mgh /= (float)d;
    const float s = rstd[r];
    for (int j = 0; j < d; j++) o[j] = s * (gr[j] - mg - hr[j] * mgh);
  }
}

/*
 * Attention forward for every (example b, head h): P = softmax(scale * q_h k_h^T + bias_b) over keys,
 * ctx_h = P v_h. bias: none (kind 0), one additive value per key [B][T] (kind 1: the padding mask),
 * or a full [B][T][T] (kind 2: causal). `scratch` holds T*hd floats (k_h^T as a panel).
 */
EXPORT(attn_fwd)
void attn_fwd(int B, int H, int T, int hd, const float *q, const float *k, const float *v,
              const float *bias, int kind, float scale, float *scratch, float *P, float *ctx) {
  const int D = H * hd;
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++) {
      const long off = (long)b * T * D + h * hd;
      float *Pb = P + ((long)b * H + h) * T * T;
      transpose_into(k + off, D, hd, T, scratch);
      tiles(WRITE, T, T, hd, q + off, D, 1, scratch, T, scale, Pb, T);
      for (int t = 0; t < T; t++) {
        float *row = Pb + (long)t * T;
        if (kind == 1) {
          const float *br = bias + (long)b * T;
          for (int s = 0; s < T; s++) row[s] += br[s];
        } else if (kind == 2) {
          const float *br = bias + ((long)b * T + t) * T;
          for (int s = 0; s < T; s++) row[s] += br[s];
        }
        float m = row[0];
        for (int s = 1; s < T; s++) m = row[s] > m ? row[s] : m;
        const float inv = 1.0f / exp_row(row, T, m);
        for (int s = 0; s < T; s++) row[s] *= inv;
      }
      tiles(WRITE, T, hd, T, Pb, T, 1, v + off, D, 1.0f, ctx + off, D);
    }
}

/*
 * Attention backward: given dctx and the forward's P, for every (b, h)
 *   dP = dctx_h v_h^T,  dS = P .* (dP - rowsum(dP .* P)),
 *   dq_h = scale dS k_h,  dk_h = scale dS^T q_h,  dv_h = P^T dctx_h.
 * `scratch` holds T*T + T*hd floats (dS, and v_h^T as a panel).
 */
EXPORT(attn_bwd)
void attn_bwd(int B, int H, int T, int hd, const float *q, const float *k, const float *v,
              const float *P, const float *dctx, float scale, float *scratch, float *dq, float *dk,
              float *dv) {
  const int D = H * hd;
  float *dS = scratch;
  float *panelv = scratch + (long)T * T;
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++) {
      const long off = (long)b * T * D + h * hd;
      const float *Pb = P + ((long)b * H + h) * T * T;
      transpose_into(v + off, D, hd, T, panelv);
      tiles(WRITE, T, T, hd, dctx + off, D, 1, panelv, T, 1.0f, dS, T);
      for (int t = 0; t < T; t++) {
        float *row = dS + (long)t * T;
        const float *pr = Pb + (long)t * T;
        float dot = 0.0f;
        for (int s = 0; s < T; s++) dot += row[s] * pr[s];
        for (int s = 0; s < T; s++) row[s] = pr[s] * (row[s] - dot);
      }
      tiles(WRITE, T, hd, T, dS, T, 1, k + off, D, scale, dq + off, D);
      tiles(WRITE, T, hd, T, dS, 1, T, q + off, D, scale, dk + off, D);
      tiles(WRITE, T, hd, T, Pb, 1, T, dctx + off, D, 1.0f, dv + off, D);
    }
}
