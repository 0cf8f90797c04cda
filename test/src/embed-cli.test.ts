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

async function embed(texts: string[], env: Record<string, string> = {}) {
  const r = await runMemarc(["embed", ...texts.flatMap((t) => ["--text", t]), "--json"], env);
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

  it("needs some text, and names a missing file", async () => {
    const none = await runMemarc(["embed", "--json"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--text or a --file/);
    const missing = await runMemarc(["embed", "--file", "/nonexistent/x.txt", "--json"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--file: no such file/);
  });
});
