/**
 * `memarc bench step` on a tiny backbone directory: the JSON a performance table is built from —
 * per scheme ms and examples/s, on worker threads, with the per-kernel profile and the GFLOP/s the
 * DP step reaches against the same run's matMul.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runMemarc } from "./cli-run.js";
import { saveTinyGpt2 } from "./tiny-gpt2.js";

interface SchemeRow {
  dpMs: number;
  nonDpMs: number;
  examplesPerSecond: number;
  profile?: { kernel: string; ms: number; calls: number }[];
  matMulGflop?: number;
  gflops?: number;
  gflopsOfMatMul?: number;
}
interface BenchJson {
  schemes: Record<string, SchemeRow>;
  config: { threads: number; matMulGflops: number; batch: number; context: number };
}

const dir = mkdtempSync(join(tmpdir(), "memarc-bench-step-"));
let modelDir = "";
before(async () => {
  modelDir = await saveTinyGpt2(join(dir, "tiny"), { nPositions: 16 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const args = (extra: string[]) => [
  ...["bench", "step", "--model", modelDir, "--batch", "8", "--context", "8"],
  ...["--steps", "1", "--warmup", "0", "--rounds", "1", "--json", ...extra],
];

describe("memarc bench step", () => {
  it("measures each scheme on two worker threads, with the profile and achieved GFLOP/s", async () => {
    const r = await runMemarc(args(["--schemes", "side,lora", "--threads", "2", "--profile"]));
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as BenchJson;
    assert.equal(j.config.threads, 2);
    assert.ok(j.config.matMulGflops > 0.05, `matMul ${j.config.matMulGflops} GFLOP/s`);
    for (const kind of ["side", "lora"]) {
      const s = j.schemes[kind]!;
      assert.ok(s.dpMs > 0 && s.nonDpMs > 0 && s.examplesPerSecond > 0, kind);
      assert.ok(s.profile && s.profile.length > 3, `${kind}: per-kernel profile`);
      assert.ok(
        s.profile.some((k) => k.kernel === "BatchMatMul" && k.calls > 0),
        `${kind}: matMul kernels`,
      );
      // FLOPs of the products in one DP step: positive, and GFLOP/s = FLOPs / DP step time.
      assert.ok(s.matMulGflop! > 0, `${kind}: matMul FLOPs`);
      assert.ok(Math.abs(s.gflops! - s.matMulGflop! / (s.dpMs / 1000)) < 0.01 + 0.01 * s.gflops!, kind);
      assert.ok(s.gflopsOfMatMul! > 0, kind);
    }
  });

  it("refuses --threads 0 with a message naming the flag", async () => {
    const r = await runMemarc(args(["--schemes", "side", "--threads", "0"]));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--threads: expected a whole number ≥ 1, got "0"/);
  });
});
