import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { KERNELS_SOURCE_SHA256, KERNELS_SOURCES } from "./kernels/kernels-wasm.js";
import {
  type SmallBatch,
  smallBatchMatMul,
  smallKeptBiasSum,
  smallKeptWeightedSum,
  smallSqNorms,
  smallSqNormsKeeping,
  smallWeightedSum,
} from "./small-gemm.js";
import { kernelPeakBytes, setKeepBudget } from "./wasm-kernels.js";

test("the committed wasm module was built from the committed C sources (scripts/build-kernels.sh)", () => {
  const hash = createHash("sha256");
  for (const f of KERNELS_SOURCES)
    hash.update(readFileSync(fileURLToPath(new URL(`../kernels/${f}`, import.meta.url))));
  assert.deepEqual(KERNELS_SOURCES, ["tiles.h", "small-gemm.c", "fused.c", "half.c"]);
  assert.equal(hash.digest("hex"), KERNELS_SOURCE_SHA256);
});

/** Deterministic values in [-1, 1). */
function values(len: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** op(A_b)·op(B_b) in float64, straight from the definition. */
function reference(x: SmallBatch): Float64Array[] {
  const { n, m, k, p } = x;
  const A = (b: number, i: number, j: number) => x.a[b * m * k + (x.transposeA ? j * m + i : i * k + j)]!;
  const B = (b: number, i: number, j: number) => x.b[b * k * p + (x.transposeB ? j * k + i : i * p + j)]!;
  const out: Float64Array[] = [];
  for (let b = 0; b < n; b++) {
    const c = new Float64Array(m * p);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < p; j++) {
        let v = 0;
        for (let l = 0; l < k; l++) v += A(b, i, l) * B(b, l, j);
        c[i * p + j] = v;
      }
    out.push(c);
  }
  return out;
}

function near(got: number, want: number, scale: number, what: string): void {
  assert.ok(Math.abs(got - want) <= 1e-5 * scale, `${what}: ${got} vs ${want}`);
}

/** got[offset + i] ≈ want[i] for every i. */
function nearAll(
  got: Float32Array,
  offset: number,
  want: ArrayLike<number>,
  scale: number,
  what: string,
): void {
  for (let i = 0; i < want.length; i++) near(got[offset + i]!, want[i]!, scale, `${what} [${i}]`);
}

// Shapes with whole 4 × 8 tiles, ragged edges on both axes, and a degenerate inner size.
const SHAPES: [number, number, number, number][] = [
  [3, 13, 9, 21],
  [2, 8, 64, 48],
  [4, 1, 5, 3],
  [2, 5, 0, 7],
];

function batches(): SmallBatch[] {
  const out: SmallBatch[] = [];
  let seed = 1;
  for (const [n, m, k, p] of SHAPES)
    for (const transposeA of [false, true])
      for (const transposeB of [false, true])
        out.push({
          n,
          m,
          k,
          p,
          a: values(n * m * k, seed++),
          b: values(n * k * p, seed++),
          transposeA,
          transposeB,
        });
  return out;
}

const label = (x: SmallBatch) =>
  `n${x.n} m${x.m} k${x.k} p${x.p}${x.transposeA ? " Aᵀ" : ""}${x.transposeB ? " Bᵀ" : ""}`;

test("smallBatchMatMul equals the definition for every transpose combination, whole and ragged tiles", () => {
  for (const x of batches()) {
    const got = smallBatchMatMul(x);
    const want = reference(x);
    assert.equal(got.length, x.n * x.m * x.p);
    for (const [b, c] of want.entries()) nearAll(got, b * x.m * x.p, c, 1 + x.k, `${label(x)} [${b}]`);
  }
});

test("smallSqNorms is ‖op(A_b)·op(B_b)‖²_F for every b", () => {
  for (const x of batches()) {
    const got = smallSqNorms(x);
    const want = reference(x).map((c) => c.reduce((s, v) => s + v * v, 0));
    assert.equal(got.length, x.n);
    for (const [b, v] of want.entries()) near(got[b]!, v, 1 + v, `${label(x)} [${b}]`);
  }
});

test("smallWeightedSum is Σ_b w_b op(A_b)·op(B_b); null weights sum; a zero weight drops its product", () => {
  for (const x of batches()) {
    const w = Float32Array.from({ length: x.n }, (_, b) => [0.5, 0, -2, 1.25][b % 4]!);
    const per = reference(x);
    for (const weights of [w, null]) {
      const got = smallWeightedSum(x, weights);
      const want = new Float64Array(x.m * x.p);
      for (const [b, c] of per.entries())
        for (let i = 0; i < c.length; i++) want[i] = want[i]! + (weights ? weights[b]! : 1) * c[i]!;
      nearAll(got, 0, want, 1 + x.k * x.n, `${label(x)} ${weights ? "w" : "null"}`);
    }
  }
  // A non-finite value in a dropped example must not reach the sum (w 0 skips it, not 0·NaN).
  const x: SmallBatch = { n: 2, m: 4, k: 3, p: 8, a: values(24, 7), b: values(48, 8) };
  x.a[0] = Number.NaN;
  const got = smallWeightedSum(x, Float32Array.of(0, 1));
  const want = reference({ ...x, n: 1, a: x.a.subarray(12), b: x.b.subarray(24) })[0]!;
  nearAll(got, 0, want, 4, "skip");
});

test("kept products: the same norms, and their weighted sum equals smallWeightedSum after other calls ran", () => {
  const kept = batches().map((x) => ({ x, ...smallSqNormsKeeping(x) }));
  // Calls in between (of every kind) must leave the kept products alone.
  for (const x of batches()) {
    smallBatchMatMul(x);
    smallWeightedSum(x, null);
  }
  for (const { x, norms, kept: k } of kept) {
    assert.ok(k, `${label(x)} kept`);
    assert.deepEqual(norms, smallSqNorms(x));
    const w = Float32Array.from({ length: x.n }, (_, b) => [0.5, 0, -2, 1.25][b % 4]!);
    for (const weights of [w, null]) {
      const got = smallKeptWeightedSum(k, weights, (v) => v.slice());
      nearAll(
        got,
        0,
        smallWeightedSum(x, weights),
        1 + x.k * x.n,
        `${label(x)} kept ${weights ? "w" : "null"}`,
      );
    }
    k.release();
    k.release(); // idempotent
    assert.throws(() => smallKeptWeightedSum(k, null, () => 0), /used after release/);
  }
});

/** Σ_k op(B_b)(k, ·) for every b, float64: a bias's per-example gradient when B_b holds g_b. */
function columnSums(x: SmallBatch): Float64Array[] {
  return Array.from({ length: x.n }, (_, b) => {
    const s = new Float64Array(x.p);
    for (let k = 0; k < x.k; k++)
      for (let j = 0; j < x.p; j++) s[j] = s[j]! + x.b[b * x.k * x.p + k * x.p + j]!;
    return s;
  });
}

test("bias norms come with the products' norms from one call, kept or not, and their kept weighted sum", () => {
  for (const budget of [64 * 2 ** 20, 0]) {
    const prev = setKeepBudget(budget);
    try {
      for (const x of batches().filter((y) => !y.transposeB)) {
        const sums = columnSums(x);
        const { norms, biasNorms, kept } = smallSqNormsKeeping(x, { bias: true });
        assert.deepEqual(norms, smallSqNorms(x));
        assert.ok(biasNorms);
        for (const [b, s] of sums.entries()) {
          const want = s.reduce((q, v) => q + v * v, 0);
          near(biasNorms[b]!, want, 1 + want, `${label(x)} bias [${b}]`);
        }
        if (budget === 0) {
          assert.equal(kept, null);
          continue;
        }
        assert.ok(kept?.bias);
        const w = Float32Array.from({ length: x.n }, (_, b) => [0.5, 0, -2, 1.25][b % 4]!);
        const want = new Float64Array(x.p);
        for (const [b, s] of sums.entries()) for (let j = 0; j < x.p; j++) want[j] = want[j]! + w[b]! * s[j]!;
        nearAll(
          smallKeptBiasSum(kept, w, (v) => v.slice()),
          0,
          want,
          1 + x.k * x.n,
          `${label(x)} kept bias sum`,
        );
        kept.release();
      }
    } finally {
      setKeepBudget(prev);
    }
  }
  const t: SmallBatch = { n: 1, m: 2, k: 3, p: 4, a: values(6, 1), b: values(12, 2), transposeB: true };
  assert.throws(() => smallSqNormsKeeping(t, { bias: true }), /bias norms need B stored untransposed/);
  const plain = smallSqNormsKeeping({ ...t, transposeB: false });
  assert.ok(plain.kept);
  assert.throws(() => smallKeptBiasSum(plain.kept!, null, () => 0), /no bias sums/);
  plain.kept.release();
});

test("kept products stay within their budget: past it nothing is kept and the norms are unchanged", () => {
  const x: SmallBatch = { n: 4, m: 16, k: 8, p: 16, a: values(4 * 16 * 8, 21), b: values(4 * 8 * 16, 22) };
  const prev = setKeepBudget(4 * 16 * 16 * 4 * 1.5); // room for one such set of products, not two
  try {
    const first = smallSqNormsKeeping(x);
    const second = smallSqNormsKeeping(x);
    assert.ok(first.kept);
    assert.equal(second.kept, null);
    assert.deepEqual(second.norms, first.norms);
    first.kept.release();
    const third = smallSqNormsKeeping(x); // released: room again
    assert.ok(third.kept);
    third.kept.release();
    setKeepBudget(0);
    assert.equal(smallSqNormsKeeping(x).kept, null);
  } finally {
    setKeepBudget(prev);
  }
  assert.throws(() => setKeepBudget(-1), /keep budget must be ≥ 0/);
});

test("memory reused across calls of different sizes leaves nothing behind; peak bytes cover the operands", () => {
  kernelPeakBytes(true);
  const big: SmallBatch = {
    n: 64,
    m: 64,
    k: 64,
    p: 64,
    a: values(64 ** 4 / 64, 3),
    b: values(64 ** 4 / 64, 4),
  };
  smallWeightedSum(big, null);
  const peak = kernelPeakBytes(true);
  assert.ok(peak >= 4 * (big.a.length + big.b.length + 64 * 64), `peak ${peak}`);
  const small: SmallBatch = { n: 1, m: 5, k: 3, p: 9, a: values(15, 5), b: values(27, 6) };
  const got = smallWeightedSum(small, null);
  nearAll(got, 0, reference(small)[0]!, 4, "after a big call");
  assert.equal(kernelPeakBytes() > 0, true);
});

test("operands of the wrong size are refused with the sizes named", () => {
  assert.throws(
    () => smallBatchMatMul({ n: 2, m: 3, k: 4, p: 5, a: new Float32Array(23), b: new Float32Array(40) }),
    /a has 23 numbers, expected 2·3·4/,
  );
  assert.throws(
    () => smallSqNorms({ n: 2, m: 3, k: 4, p: 5, a: new Float32Array(24), b: new Float32Array(41) }),
    /b has 41 numbers, expected 2·4·5/,
  );
  assert.throws(
    () =>
      smallWeightedSum(
        { n: 2, m: 3, k: 4, p: 5, a: new Float32Array(24), b: new Float32Array(40) },
        new Float32Array(3),
      ),
    /3 weights for 2 products/,
  );
  assert.throws(
    () => smallBatchMatMul({ n: 1.5, m: 3, k: 4, p: 5, a: new Float32Array(0), b: new Float32Array(0) }),
    /n must be a non-negative integer/,
  );
});
