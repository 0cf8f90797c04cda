/**
 * `memarc embed` against sentence-transformers: the pair similarities sentence-transformers computes
 * for all-MiniLM-L6-v2 (packages/models/fixtures, generated with the real library on the F32
 * weights) must come out of the real binary, on ONNX Runtime and on tfjs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { runMemarc } from "./cli-run.js";

const fixture = JSON.parse(
  readFileSync(
    fileURLToPath(new URL("../../packages/models/fixtures/minilm-reference.json", import.meta.url)),
    "utf8",
  ),
) as { pairs: [string, string][]; stSimilarities: number[] };

const fixtures = (p: string) =>
  fileURLToPath(new URL(`../../packages/models/fixtures/${p}`, import.meta.url));

async function embed(texts: string[], env: Record<string, string> = {}, extra: string[] = []) {
  const r = await runMemarc(["embed", ...texts.flatMap((t) => ["--text", t]), ...extra, "--json"], env);
  assert.equal(r.code, 0, r.stderr);
  return r.json as { dim: number; engine: string; embeddings: number[][] };
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe("memarc embed", { timeout: 120_000 }, () => {
  it("reproduces sentence-transformers' pair similarities to 1e-3, on ONNX Runtime and on tfjs", async () => {
    const texts = fixture.pairs.flat();
    const onnx = await embed(texts);
    const tfjs = await embed(texts, { MEMARC_INFERENCE: "tfjs" });
    assert.equal(onnx.engine, "onnx");
    assert.equal(tfjs.engine, "tfjs");
    assert.equal(onnx.dim, 384);
    fixture.pairs.forEach((_, k) => {
      const [a, b] = [onnx.embeddings[2 * k]!, onnx.embeddings[2 * k + 1]!];
      assert.ok(Math.abs(Math.hypot(...a) - 1) < 1e-5, "unit length");
      const sim = dot(a, b);
      assert.ok(
        Math.abs(sim - fixture.stSimilarities[k]!) < 1e-3,
        `pair ${k}: ${sim} vs ${fixture.stSimilarities[k]}`,
      );
      const simTfjs = dot(tfjs.embeddings[2 * k]!, tfjs.embeddings[2 * k + 1]!);
      assert.ok(Math.abs(simTfjs - sim) < 1e-4, `pair ${k}: tfjs ${simTfjs} vs onnx ${sim}`);
    });
  });

  it("embeds with a RoBERTa directory (--model): the numpy reference's normalised mean, on ONNX Runtime and tfjs", async () => {
    const ref = JSON.parse(readFileSync(fixtures("roberta-reference.json"), "utf8")) as {
      texts: string[];
      seqLength: number;
      hiddenSize: number;
      attentionMask: number[];
      sentenceEmbeddings: number[];
    };
    const d = ref.hiddenSize;
    // The texts the reference did not truncate (embed reads up to the model's 18 positions).
    const whole = ref.texts.flatMap((text, i) => {
      const real = ref.attentionMask.slice(i * ref.seqLength, (i + 1) * ref.seqLength).filter((m) => m === 1);
      return real.length < ref.seqLength
        ? [{ text, want: ref.sentenceEmbeddings.slice(i * d, (i + 1) * d) }]
        : [];
    });
    assert.ok(whole.length >= 2);
    for (const env of [{}, { MEMARC_INFERENCE: "tfjs" }] as Record<string, string>[]) {
      const out = await embed(
        whole.map((w) => w.text),
        env,
        ["--model", fixtures("tiny-roberta")],
      );
      assert.equal(out.dim, d);
      whole.forEach((w, k) => {
        const err = Math.max(...w.want.map((v, j) => Math.abs(v - out.embeddings[k]![j]!)));
        assert.ok(err < 1e-4, `${out.engine} ${JSON.stringify(w.text)}: max abs error ${err}`);
      });
    }
  });

  it("needs some text, and names a missing file", async () => {
    const none = await runMemarc(["embed", "--json"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--text or a --file/);
    const missing = await runMemarc(["embed", "--file", "/nonexistent/x.txt", "--json"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--file: no such file/);
  });
});
