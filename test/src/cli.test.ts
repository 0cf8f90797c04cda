import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runMemarc } from "./cli-run.js";

describe("memarc command", () => {
  it("prints help listing its commands", async () => {
    const r = await runMemarc(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Commands:/);
    assert.match(r.stdout, /backend/);
    assert.match(r.stdout, /bench/);
  });

  it("rejects an unknown command with exit code 2 and names it", async () => {
    const r = await runMemarc(["frobnicate", "--json"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /frobnicate/);
    assert.deepEqual((r.json as { error: { code: string } }).error.code, "E_USAGE");
  });

  it("a negative value reaches the flag's own check, which names the flag", async () => {
    const r = await runMemarc([
      "accountant",
      "--target-epsilon",
      "-3",
      "--delta",
      "1e-5",
      "--sample-rate",
      "0.01",
      "--steps",
      "10",
      "--json",
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--target-epsilon/);
    assert.doesNotMatch(r.stderr, /ambiguous/);
  });

  it("a client with a coordinator address that is not ws:// or wss:// stops at once, naming the flag", async () => {
    for (const bad of ["notaurl", "ftp://example.com:7700"]) {
      const r = await runMemarc([
        "client",
        "--coordinator",
        bad,
        "--coordinator-key",
        "AAAA",
        "--key",
        "/nonexistent",
        "--data",
        "spam-assassin:iid:0/3",
        "--json",
      ]);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /--coordinator: /);
    }
  });

  it("rejects an unknown flag naming the flag", async () => {
    const r = await runMemarc(["backend", "--bogus"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--bogus/);
  });

  it("reports the backend it chose as JSON on the last line", async () => {
    const r = await runMemarc(["backend", "--json"], { MEMARC_BACKEND: "wasm" });
    assert.equal(r.code, 0, r.stderr);
    const info = r.json as { name: string; requested: string };
    assert.equal(info.name, "wasm");
    assert.equal(info.requested, "wasm");
  });

  it("auto falls back past the missing native bindings and says why", async () => {
    const r = await runMemarc(["backend", "--json"], { MEMARC_BACKEND: "auto" });
    assert.equal(r.code, 0, r.stderr);
    const info = r.json as { name: string; skipped: string[] };
    // On this machine there is no native TensorFlow; on a CUDA node auto would pick "tensorflow".
    if (info.name !== "tensorflow") {
      assert.equal(info.name, "wasm");
      assert.ok(info.skipped.some((s) => s.includes("@tensorflow/tfjs-node-gpu")));
    }
  });

  it("fails loudly when an explicitly requested backend cannot load", async () => {
    const r = await runMemarc(["backend", "--json"], { MEMARC_BACKEND: "tensorflow" });
    if ((r.json as { name?: string }).name === "tensorflow") return; // a machine with native TF
    assert.equal(r.code, 1);
    assert.equal((r.json as { error: { code: string } }).error.code, "E_BACKEND");
    assert.match(r.stderr, /tfjs-node/);
  });

  it("rejects an unknown backend name", async () => {
    const r = await runMemarc(["backend", "--json", "--backend", "cuda"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown backend "cuda"/);
  });
});
