/**
 * Open-addressing hash map from a pair of small non-negative int32s (two symbol ids) to a number.
 *
 * BPE does millions of "(left, right) -> rank / count" look-ups. A JS `Map` would need a composite
 * key that, for vocabularies above 2^15 ids, no longer fits in a small integer, so V8 boxes and hashes
 * it as a heap number; this table keeps keys in typed arrays and is several times faster.
 */
export class PairTable {
  private left: Int32Array;
  private right: Int32Array;
  private values: Float64Array;
  private mask: number;
  private count = 0;

  constructor(expected = 16) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.left = new Int32Array(cap).fill(-1);
    this.right = new Int32Array(cap);
    this.values = new Float64Array(cap);
    this.mask = cap - 1;
  }

  /** Number of distinct pairs stored. */
  get size(): number {
    return this.count;
  }

  private slot(a: number, b: number): number {
    // Multiplicative mixing of both halves; good enough spread for sequential ids.
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    let i = h & this.mask;
    const left = this.left;
    const right = this.right;
    while (left[i] !== -1 && (left[i] !== a || right[i] !== b)) i = (i + 1) & this.mask;
    return i;
  }

  /** Value stored for (a, b), or `missing` when absent. */
  get(a: number, b: number, missing = -1): number {
    const i = this.slot(a, b);
    return this.left[i] === -1 ? missing : this.values[i]!;
  }

  has(a: number, b: number): boolean {
    return this.left[this.slot(a, b)] !== -1;
  }

  set(a: number, b: number, value: number): void {
    const i = this.slot(a, b);
    if (this.left[i] === -1) {
      this.left[i] = a;
      this.right[i] = b;
      this.count++;
      this.values[i] = value;
      if (this.count * 2 > this.mask) this.grow();
      return;
    }
    this.values[i] = value;
  }

  /** Adds `delta` to the value for (a, b) (absent counts as 0) and returns the new value. */
  add(a: number, b: number, delta: number): number {
    const i = this.slot(a, b);
    if (this.left[i] === -1) {
      this.left[i] = a;
      this.right[i] = b;
      this.values[i] = delta;
      this.count++;
      if (this.count * 2 > this.mask) this.grow();
      return delta;
    }
    const v = this.values[i]! + delta;
    this.values[i] = v;
    return v;
  }

  /** Visits every stored pair (order unspecified). */
  forEach(fn: (a: number, b: number, value: number) => void): void {
    const { left, right, values } = this;
    for (let i = 0; i < left.length; i++) if (left[i] !== -1) fn(left[i]!, right[i]!, values[i]!);
  }

  private grow(): void {
    const { left, right, values } = this;
    const cap = left.length * 2;
    this.left = new Int32Array(cap).fill(-1);
    this.right = new Int32Array(cap);
    this.values = new Float64Array(cap);
    this.mask = cap - 1;
    for (let i = 0; i < left.length; i++) {
      if (left[i] === -1) continue;
      const j = this.slot(left[i]!, right[i]!);
      this.left[j] = left[i]!;
      this.right[j] = right[i]!;
      this.values[j] = values[i]!;
    }
  }
}
