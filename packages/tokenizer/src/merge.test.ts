import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BYTE_TO_CHAR } from "./byte-unicode.js";
import { type MergeRules, MinHeap, mergeByHeap, mergeByScan } from "./merge.js";
import { PairTable } from "./pair-table.js";
import { gpt2Tokenizer } from "./test-support.js";
import { insecureSeededUniformForTests } from "./testing/index.js";
import { WordCache } from "./word-cache.js";

describe("PairTable", () => {
  it("agrees with a Map on random inserts, updates and look-ups (including growth)", () => {
    const rnd = insecureSeededUniformForTests(7);
    const table = new PairTable(4);
    const ref = new Map<string, number>();
    for (let k = 0; k < 20_000; k++) {
      const a = Math.floor(rnd() * 300);
      const b = Math.floor(rnd() * 300);
      const key = `${a},${b}`;
      const op = rnd();
      if (op < 0.4) {
        table.set(a, b, k);
        ref.set(key, k);
      } else if (op < 0.7) {
        const v = table.add(a, b, 3);
        ref.set(key, (ref.get(key) ?? 0) + 3);
        assert.equal(v, ref.get(key));
      } else {
        assert.equal(table.get(a, b), ref.get(key) ?? -1);
        assert.equal(table.has(a, b), ref.has(key));
      }
    }
    assert.equal(table.size, ref.size);
    let visited = 0;
    table.forEach((a, b, v) => {
      visited++;
      assert.equal(v, ref.get(`${a},${b}`));
    });
    assert.equal(visited, ref.size);
  });

  it("keeps (a, b) and (b, a) apart", () => {
    const t = new PairTable();
    t.set(1, 2, 10);
    t.set(2, 1, 20);
    assert.equal(t.get(1, 2), 10);
    assert.equal(t.get(2, 1), 20);
    assert.equal(t.get(1, 1), -1);
  });
});

describe("MinHeap", () => {
  it("pops random values in sorted order", () => {
    const rnd = insecureSeededUniformForTests(3);
    const h = new MinHeap(2);
    const values = Array.from(
      { length: 5000 },
      () => Math.floor(rnd() * 1e9) * 4096 + Math.floor(rnd() * 4096),
    );
    for (const v of values) h.push(v);
    const out: number[] = [];
    while (h.size > 0) out.push(h.pop());
    assert.deepEqual(
      out,
      [...values].sort((x, y) => x - y),
    );
  });
});

describe("merge strategies", () => {
  // Rebuild GPT-2's merge rules from its public merge list.
  const tok = gpt2Tokenizer();
  const ranks = new PairTable(tok.merges.length);
  const results = new Int32Array(tok.merges.length);
  tok.merges.forEach(([a, b], r) => {
    ranks.set(tok.tokenToId(a)!, tok.tokenToId(b)!, r);
    results[r] = tok.tokenToId(a + b)!;
  });
  const rules: MergeRules = { ranks, results };
  const toSymbols = (s: string): number[] =>
    [...new TextEncoder().encode(s)].map((b) => tok.tokenToId(BYTE_TO_CHAR[b]!)!);

  it("heap and scan give identical merges on 2,000 random words of every length up to 200 bytes", () => {
    const rnd = insecureSeededUniformForTests(11);
    const alphabet = [..."etaoinshrdlu ETAOIN0123456789.,'-_éü日😀\n"];
    for (let k = 0; k < 2000; k++) {
      let s = "";
      const n = 1 + Math.floor(rnd() * 200);
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(rnd() * alphabet.length)]!;
      const a: number[] = [];
      const b: number[] = [];
      mergeByScan(toSymbols(s), rules, a);
      mergeByHeap(toSymbols(s), rules, b);
      assert.deepEqual(b, a, JSON.stringify(s));
    }
  });

  it("heap path handles words with repeated and overlapping pairs", () => {
    for (const s of ["aaaaaaa", " " + "ab".repeat(9), "\n".repeat(17), "lllllllll"]) {
      const a: number[] = [];
      const b: number[] = [];
      mergeByScan(toSymbols(s), rules, a);
      mergeByHeap(toSymbols(s), rules, b);
      assert.deepEqual(b, a);
      assert.equal(tok.decode(b), s);
    }
  });
});

describe("WordCache", () => {
  it("stays within two generations and keeps recently used words", () => {
    const c = new WordCache(3);
    c.set("w0", [0]);
    for (let i = 1; i < 10; i++) {
      c.set(`w${i}`, [i]);
      assert.ok(c.size <= 6);
      assert.deepEqual(c.get("w0"), [0]);
    }
    // w0 was read after every insert, so promotion kept it alive.
    assert.deepEqual(c.get("w0"), [0]);
    assert.equal(c.get("w1"), undefined, "an unused early word is evicted");
    assert.deepEqual(c.get("w9"), [9]);
  });

  it("stores nothing at capacity 0", () => {
    const c = new WordCache(0);
    c.set("a", [1]);
    assert.equal(c.get("a"), undefined);
    assert.equal(c.size, 0);
  });
});
