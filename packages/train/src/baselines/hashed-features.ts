/**
 * Hashed bag-of-words features (the "hashing trick"): lower-cased word tokens → FNV-1a hash →
 * one of `dim` buckets with a hash-derived sign (so collisions cancel in expectation), sublinear
 * term frequency log(1 + tf), then each row scaled to unit L2 norm. Unit rows make the per-example
 * gradient norm of a linear model depend only on its error, which keeps DP clipping gentle.
 */
const TOKEN = /[a-z0-9$€£!?%@._-]+/g;

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function hashedBagOfWords(texts: readonly string[], dim: number): Float32Array {
  if (!Number.isSafeInteger(dim) || dim < 2) throw new RangeError(`feature dim must be ≥ 2, got ${dim}`);
  const out = new Float32Array(texts.length * dim);
  const counts = new Map<number, number>();
  texts.forEach((text, row) => {
    counts.clear();
    for (const tok of text.toLowerCase().match(TOKEN) ?? []) {
      const h = fnv1a(tok);
      const bucket = h % dim;
      const sign = h >>> 31 === 1 ? -1 : 1;
      counts.set(bucket, (counts.get(bucket) ?? 0) + sign);
    }
    let norm = 0;
    const base = row * dim;
    for (const [b, c] of counts) {
      const v = Math.sign(c) * Math.log1p(Math.abs(c));
      out[base + b] = v;
      norm += v * v;
    }
    if (norm > 0) {
      const s = 1 / Math.sqrt(norm);
      for (const b of counts.keys()) out[base + b] = out[base + b]! * s;
    }
  });
  return out;
}
