import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ENDOFTEXT } from "./bpe-tokenizer.js";
import { BYTE_TO_CHAR, GPT2_BYTE_ORDER } from "./byte-unicode.js";
import { TokenizerError } from "./errors.js";
import { bpeFromFiles, saveBpe } from "./node/index.js";
import { pretokenize } from "./pretokenize.js";
import { sotuTexts } from "./test-support.js";
import { insecureSeededUniformForTests } from "./testing/index.js";
import { trainBpe, trainBpeMerges } from "./trainer.js";

/**
 * Obviously-correct reference trainer: recount every pair from scratch before each merge. Same rules
 * as trainBpeMerges: highest count, ties by smaller (left id, right id); ids are bytes in GPT-2 order,
 * then new tokens in creation order (a token spelled like an existing one reuses its id).
 */
function naiveTrain(texts: string[], vocabSize: number, minFrequency: number): Array<[string, string]> {
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of pretokenize(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const ids = new Map<string, number>(GPT2_BYTE_ORDER.map((b, i) => [BYTE_TO_CHAR[b]!, i]));
  let words = [...counts].map(([w, c]) => ({
    syms: [...new TextEncoder().encode(w)].map((b) => BYTE_TO_CHAR[b]!),
    c,
  }));
  const merges: Array<[string, string]> = [];
  while (ids.size < vocabSize - 1) {
    const pairs = new Map<string, { a: string; b: string; n: number }>();
    for (const { syms, c } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const key = `${ids.get(syms[i]!)},${ids.get(syms[i + 1]!)}`;
        const e = pairs.get(key) ?? { a: syms[i]!, b: syms[i + 1]!, n: 0 };
        e.n += c;
        pairs.set(key, e);
      }
    }
    let best: { a: string; b: string; n: number } | undefined;
    for (const e of pairs.values()) {
      if (
        !best ||
        e.n > best.n ||
        (e.n === best.n &&
          (ids.get(e.a)! < ids.get(best.a)! ||
            (ids.get(e.a) === ids.get(best.a) && ids.get(e.b)! < ids.get(best.b)!)))
      ) {
        best = e;
      }
    }
    if (!best || best.n < minFrequency) break;
    const { a, b } = best;
    merges.push([a, b]);
    if (!ids.has(a + b)) ids.set(a + b, ids.size);
    words = words.map(({ syms, c }) => {
      const out: string[] = [];
      for (let i = 0; i < syms.length; ) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
          out.push(a + b);
          i += 2;
        } else out.push(syms[i++]!);
      }
      return { syms: out, c };
    });
  }
  return merges;
}

describe("trainBpe on toy corpora (hand-computed)", () => {
  it("merges the most frequent pair first and re-counts after each merge", () => {
    // Words: abab x2, abc, bc. Pair counts: (a,b)=5, (b,a)=2, (b,c)=2.
    // 1. a+b (5). Now [ab ab]x2, [ab c], [b c]: (ab,ab)=2, (ab,c)=1, (b,c)=1.
    // 2. ab+ab (2). 3. tie at 1: (b,c) wins, left id 65 < 256 of "ab". 4. ab+c.
    const { vocab, merges } = trainBpeMerges(["abab", "abab", "abc", "bc"], {
      vocabSize: 300,
      minFrequency: 1,
    });
    assert.deepEqual(merges, [
      ["a", "b"],
      ["ab", "ab"],
      ["b", "c"],
      ["ab", "c"],
    ]);
    // Ran out of pairs before 300: 256 bytes + 4 merges + <|endoftext|>.
    assert.equal(vocab.ab, 256);
    assert.equal(vocab.abab, 257);
    assert.equal(vocab.bc, 258);
    assert.equal(vocab.abc, 259);
    assert.equal(vocab[ENDOFTEXT], 260);
    assert.equal(Object.keys(vocab).length, 261);
  });

  it("stops at minFrequency and breaks count ties by smaller left id", () => {
    // Words: "the", " the" x2, " cat". (t,h)=3 and (h,e)=3 tie; 'h' (id 71) < 't' (id 83) -> h+e first.
    // Then t+he (3), Ġ+the (2); every remaining pair occurs once, below minFrequency 2.
    const { merges } = trainBpeMerges(["the the the cat"], { vocabSize: 1000 });
    assert.deepEqual(merges, [
      ["h", "e"],
      ["t", "he"],
      ["Ġ", "the"],
    ]);
  });

  it("honours vocabSize exactly and counts <|endoftext|> in it", () => {
    const tok = trainBpe(["abab", "abab", "abc", "bc"], { vocabSize: 259, minFrequency: 1 });
    assert.equal(tok.vocabSize, 259);
    assert.equal(tok.merges.length, 2);
    assert.equal(tok.eotId, 258);
    assert.equal(tok.idToToken(258), ENDOFTEXT);
    assert.deepEqual(tok.encode("abab"), [257]);
  });

  it("treats <|endoftext|> in training text as a separator, not as text", () => {
    const joined = trainBpeMerges(["hello<|endoftext|>hello world"], { vocabSize: 400 });
    const separate = trainBpeMerges(["hello", "hello world"], { vocabSize: 400 });
    assert.deepEqual(joined.merges, separate.merges);
    assert.ok(!joined.merges.some(([a, b]) => (a + b).includes("<|")));
  });

  it("rejects impossible options", () => {
    for (const options of [{ vocabSize: 256 }, { vocabSize: 300.5 }, { vocabSize: 300, minFrequency: 0 }]) {
      assert.throws(
        () => trainBpe(["x"], options),
        (e: unknown) => e instanceof TokenizerError && e.code === "E_TOKENIZER_BAD_OPTIONS",
      );
    }
  });
});

describe("trainBpe against a from-scratch reference", () => {
  it("learns exactly the merges of a trainer that recounts all pairs at every step", () => {
    const rnd = insecureSeededUniformForTests(5);
    const prose = sotuTexts()[100]!.slice(0, 60_000);
    // Repetitive and overlapping material exercises the neighbour-count updates (aaaa, abab, ...).
    const extras = ["aaaa aaaaa aaa", "abababab abab", "  \n\n  \n", "日本語日本語 😀😀", "x=1;y=11;z=111"];
    for (let k = 0; k < 50; k++)
      extras.push(String.fromCodePoint(...Array.from({ length: 6 }, () => 0x61 + Math.floor(rnd() * 4))));
    const texts = [prose, ...extras, ...extras];
    const fast = trainBpeMerges(texts, { vocabSize: 700, minFrequency: 2 }).merges;
    const slow = naiveTrain(texts, 700, 2);
    assert.ok(fast.length > 300);
    assert.deepEqual(fast, slow);
  });

  it("is deterministic", () => {
    const texts = sotuTexts().slice(50, 53);
    const a = trainBpeMerges(texts, { vocabSize: 1200 });
    const b = trainBpeMerges([...texts], { vocabSize: 1200 });
    assert.deepEqual(a, b);
  });
});

describe("trained tokenizer quality", () => {
  const sotu = sotuTexts();
  const train = sotu.slice(0, -10);
  const heldOut = sotu.slice(-10).join("\n\n");
  const tok = trainBpe(train, { vocabSize: 4096 });

  it("has 4,096 ids with <|endoftext|> last", () => {
    assert.equal(tok.vocabSize, 4096);
    assert.equal(tok.eotId, 4095);
    assert.deepEqual(tok.encode(ENDOFTEXT, { allowedSpecial: "all" }), [4095]);
  });

  it("compresses held-out English prose to more than 3 bytes per token", () => {
    const ids = tok.encode(heldOut);
    const bytesPerToken = Buffer.byteLength(heldOut) / ids.length;
    assert.ok(bytesPerToken > 3, `bytes/token = ${bytesPerToken}`);
    assert.equal(tok.decode(ids), heldOut);
  });

  it("round-trips arbitrary strings, including bytes never seen in training", () => {
    const trainingBytes = new Set<number>();
    for (const t of train.slice(0, 20)) for (const b of Buffer.from(t)) trainingBytes.add(b);
    const rnd = insecureSeededUniformForTests(42);
    const cases = ["😀 日本語 \u0000\u0001\u007f \u00ff ÿ", "\ufeff", "<|endoftext|>", "ĠĊ", " \t\r\n\u2028"];
    for (let k = 0; k < 300; k++) {
      let s = "";
      const n = Math.floor(rnd() * 30);
      for (let i = 0; i < n; i++) {
        const r = rnd();
        const cp =
          r < 0.3
            ? Math.floor(rnd() * 0x80)
            : r < 0.7
              ? Math.floor(rnd() * 0xd800)
              : 0x10000 + Math.floor(rnd() * 0xfffff);
        s += String.fromCodePoint(cp);
      }
      cases.push(s);
    }
    let unseen = 0;
    for (const s of cases) {
      for (const b of Buffer.from(s)) if (!trainingBytes.has(b)) unseen++;
      const ids = tok.encode(s);
      assert.ok(ids.every((id) => id >= 0 && id < tok.vocabSize));
      assert.equal(tok.decode(ids), s);
    }
    assert.ok(unseen > 100, "the cases really contain bytes absent from the training text");
  });

  it("survives save/load unchanged", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "memarc-trained-"));
    try {
      const { vocabPath, mergesPath } = saveBpe(tok, dir);
      const back = bpeFromFiles(vocabPath, mergesPath);
      const sample = heldOut.slice(0, 20_000);
      assert.deepEqual(back.encode(sample), tok.encode(sample));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
