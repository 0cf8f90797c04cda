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

/* e^x in float32: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite, two-part ln2), e^r by its degree-7
 * Taylor polynomial (truncation < 2e-9 relative), 2^n through the exponent bits. Below -87.3 (the
 * smallest normal float) it returns 0: the attention's masked scores (-1e9) vanish exactly. */
static inline float exp_f(float x) {
  if (x < -87.3f) return 0.0f;
  if (x > 88.7f) return __builtin_inff();
  const float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
  float r = x - n * 0.693145751953125f;
  r = r - n * 1.42860682030941723212e-6f;
  const float p =
      1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040)))))));
  union {
    float f;
    int i;
  } two = {.i = ((int)n + 127) << 23};
  return p * two.f;
}

/* erf(z) given e = exp(-z^2): Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7, the formula tfjs's
 * own cpu Erf kernel uses), odd in z. */
static inline float erf_given_exp(float z, float e) {
  const float az = z < 0 ? -z : z;
  const float t = 1.0f / (1.0f + 0.3275911f * az);
  const float poly =
      t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  const float y = 1.0f - poly * e;
  return z < 0 ? -y : y;
}

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

/* y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) for n values. */
EXPORT(gelu_fwd)
void gelu_fwd(int n, const float *x, float *y) {
  for (int i = 0; i < n; i++) {
    const float v = x[i];
    const float e = exp_f(-0.5f * v * v);
    y[i] = 0.5f * v * (1.0f + erf_given_exp(v * INV_SQRT2, e));
  }
}

/* dx = dy * (Phi(x) + x phi(x)), phi the standard normal density. */
EXPORT(gelu_bwd)
void gelu_bwd(int n, const float *x, const float *dy, float *dx) {
  for (int i = 0; i < n; i++) {
    const float v = x[i];
    const float e = exp_f(-0.5f * v * v);
    const float cdf = 0.5f * (1.0f + erf_given_exp(v * INV_SQRT2, e));
    dx[i] = dy[i] * (cdf + v * INV_SQRT_2PI * e);
  }
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
        float sum = 0.0f;
        for (int s = 0; s < T; s++) {
          row[s] = exp_f(row[s] - m);
          sum += row[s];
        }
        const float inv = 1.0f / sum;
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
