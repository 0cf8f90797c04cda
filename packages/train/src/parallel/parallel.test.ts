import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { GPT2, type SchemeKind } from "@memarc/models";
import { saveGPT2 } from "@memarc/models/node";
import { type LatticeNoise, planLattice } from "@memarc/privacy";
import { initBackend } from "@memarc/tensor";
import { trainBpe } from "@memarc/tokenizer";
import { saveBpe } from "@memarc/tokenizer/node";
import * as tf from "@tensorflow/tfjs";
import { trainDpSgd } from "../dp-sgd.js";
import type { Backbone } from "../finetune/backbone.js";
import { createScheme } from "../finetune/schemes.js";
import type { ClippedBatch, TrainableModel, TrainingRandom } from "../model.js";
import { loadBackbone } from "../node/backbone-dir.js";
import { Sgd } from "../optimizers.js";
import { SchemeModel } from "../scheme-model.js";
import { secureTrainingRandom } from "../secure-random.js";
import { insecureSeededTrainingRandomForTests } from "../testing/insecure-random.js";
import { ClipPool } from "./clip-pool.js";
import type { ParallelSchemeModel } from "./parallel-model.js";
import { spawnClipWorker } from "./spawn-worker.js";

const root = mkdtempSync(join(tmpdir(), "memarc-parallel-"));
const dir = join(root, "bb");
let backbone: Backbone;

const WORDS = ["free", "cash", "prize", "meeting", "notes", "agenda", "the", "a", "of", "and", "we", "you"];
const texts = Array.from({ length: 60 }, (_, i) =>
  Array.from({ length: 3 + (i % 9) }, (_, k) => WORDS[(i * 7 + k * 5) % WORDS.length]).join(" "),
);
const labels = Int32Array.from(texts, (_, i) => ((i * 5) % 3 === 0 ? 1 : 0));

before(async () => {
  await initBackend({ log: null });
  const tokenizer = trainBpe(texts, { vocabSize: 280 });
  const random = GPT2.random(
    { nLayer: 2, nEmbd: 32, nHead: 2, nPositions: 16, vocabSize: tokenizer.vocabSize, layerNormEps: 1e-5 },
    3,
  );
  await saveGPT2(random, dir);
  saveBpe(tokenizer, dir);
  random.dispose();
  backbone = await loadBackbone(dir);
});

after(() => {
  backbone.model.dispose();
  rmSync(root, { recursive: true, force: true });
});

function assertClose(a: ClippedBatch, b: ClippedBatch, what: string): void {
  assert.equal(a.norms.length, b.norms.length);
  for (let i = 0; i < a.norms.length; i++)
    assert.ok(Math.abs(a.norms[i]! - b.norms[i]!) <= 1e-5 * (1 + b.norms[i]!), `${what}: norm ${i}`);
  assert.ok(Math.abs(a.lossSum - b.lossSum) < 1e-4, `${what}: loss`);
  assert.deepEqual([...a.clippedSum.keys()].sort(), [...b.clippedSum.keys()].sort());
  for (const [k, g] of a.clippedSum) {
    const x = g.dataSync();
    const y = b.clippedSum.get(k)!.dataSync();
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) < 1e-5, `${what}: ${k}[${i}]`);
  }
  tf.dispose([...a.clippedSum.values(), ...b.clippedSum.values()]);
}

/** DP-SGD on the test texts: ~30 examples a step → ~8 micro-batches over the workers. */
const stepConfig = () => ({
  datasetSize: texts.length,
  sampleRate: 0.5,
  noiseMultiplier: 0.8,
  clipNorm: 0.5,
  maxPhysicalBatch: 4,
});

describe("DP-step micro-batches on worker threads", () => {
  for (const kind of ["side", "lora", "reversible", "full"] as SchemeKind[]) {
    it(`${kind}: a worker's clipped sum equals this thread's, before and after the weights change`, async () => {
      const scheme = createScheme(kind, backbone, { numClasses: 2, reduction: 4, rank: 2, adapterDim: 4 });
      try {
        const model = scheme.bind(texts, labels, { contextLength: 16, threads: 2 });
        assert.equal(model.parallel?.concurrency, 2);
        const idx = Int32Array.from([0, 3, 9, 17, 41, 59]);
        assertClose(await model.parallel!.clippedGradients(idx, 0.3), model.clippedGradients(idx, 0.3), kind);
        // Change the weights the way an optimiser does (assign): the workers must follow.
        const g = model.clippedGradients(idx, 0.3);
        new Sgd({ momentum: 0 }).step(model.params, g.clippedSum, 0.5);
        for (const t of g.clippedSum.values()) t.dispose();
        // Two concurrent calls: both workers now answer, each with the new weights.
        const [p1, p2] = await Promise.all([
          model.parallel!.clippedGradients(idx, 0.3),
          model.parallel!.clippedGradients(idx.subarray(2), 0.3),
        ]);
        assertClose(p1, model.clippedGradients(idx, 0.3), `${kind} after update`);
        assertClose(p2, model.clippedGradients(idx.subarray(2), 0.3), `${kind} after update (2nd worker)`);
      } finally {
        scheme.dispose();
      }
    });
  }

  it("trainDpSgd: the same noised sums on 2 threads as on 1, and noise drawn once per step", async () => {
    const run = async (threads: number) => {
      const scheme = createScheme("side", backbone, { numClasses: 2, reduction: 4 });
      const model = scheme.bind(texts, labels, { contextLength: 16, threads });
      const base = insecureSeededTrainingRandomForTests(11);
      const noised: Float32Array[] = [];
      const random: TrainingRandom = {
        poissonSample: base.poissonSample,
        addNoise(values, std, sensitivity) {
          noised.push(Float32Array.from(values)); // the clipped sum, before its noise
          base.addNoise(values, std, sensitivity);
        },
      };
      const steps = 4;
      const r = await trainDpSgd({
        model: model as TrainableModel,
        config: { ...stepConfig(), steps },
        optimizer: new Sgd({ momentum: 0 }),
        schedule: () => 0.2,
        random,
      });
      assert.equal(r.stepsTaken, steps);
      assert.equal(noised.length, steps, "one noise draw per step, on the owner's thread");
      scheme.dispose();
      return noised;
    };
    const one = await run(1);
    const two = await run(2);
    for (let s = 0; s < one.length; s++) {
      let worst = 0;
      for (let i = 0; i < one[s]!.length; i++) worst = Math.max(worst, Math.abs(one[s]![i]! - two[s]![i]!));
      // Later steps start from weights that went through the (lattice) noise: allow its rounding.
      assert.ok(worst < (s === 0 ? 1e-5 : 1e-3), `step ${s}: clipped sums differ by ${worst}`);
    }
  });

  it("side: prepare without an inference engine computes the frozen features on the workers, bit for bit the owner's", async () => {
    const scheme = createScheme("side", backbone, { numClasses: 2, reduction: 4 });
    try {
      const progress: number[] = [];
      const o = { contextLength: 16, threads: 2, onPrepare: (done: number) => progress.push(done) };
      await scheme.prepare(texts, labels, o);
      assert.equal(progress.at(-1), texts.length);
      assert.ok(progress.length >= 2, "progress reported per chunk");
      const model = scheme.bind(texts, labels, o) as ParallelSchemeModel;
      const onWorkers = model.local.featureCache!;
      const here = new SchemeModel(scheme.scheme!, model.local.data).featureCache!;
      assert.equal(onWorkers.length, here.length);
      for (let i = 0; i < here.length; i++)
        for (let l = 0; l < here[i]!.length; l++)
          assert.deepEqual(onWorkers[i]![l], here[i]![l], `row ${i} layer ${l}`);
      // Evaluation over the same rows reuses them too.
      assert.equal((await scheme.evaluate(texts, labels, o)).accuracy, model.local.evaluate().accuracy);
    } finally {
      scheme.dispose();
    }
  });

  for (const kind of ["lora", "reversible", "full"] as const)
    it(`${kind}: evaluation on the workers after a DP step and a weight change equals the owner's`, async () => {
      const scheme = createScheme(kind, backbone, { numClasses: 2, seed: 4 });
      try {
        const o = { contextLength: 16, threads: 2 };
        // A step on the workers first: they then hold one version of the weights.
        const model = scheme.bind(texts, labels, o) as ParallelSchemeModel;
        const step = await model.parallel.clippedGradients(Int32Array.from([0, 1, 2, 3, 4, 5]), 1);
        tf.dispose([...step.clippedSum.values()]);
        // New weights on the owner; the workers must evaluate with these, not the ones they hold.
        const w = scheme.exportTrainable();
        for (const v of Object.values(w))
          for (let i = 0; i < v.length; i++) v[i] = v[i]! + 0.05 * Math.sin(i + 1);
        scheme.importTrainable(w);
        const here = await scheme.evaluate(texts, labels, { contextLength: 16 });
        const there = await scheme.evaluate(texts, labels, o);
        assert.equal(there.correct, here.correct);
        let worst = 0;
        for (let i = 0; i < here.losses.length; i++)
          worst = Math.max(worst, Math.abs(there.losses[i]! - here.losses[i]!));
        for (let i = 0; i < here.probabilities.length; i++)
          worst = Math.max(worst, Math.abs(there.probabilities[i]! - here.probabilities[i]!));
        assert.ok(worst < 1e-5, `${kind}: workers' evaluation differs from the owner's by ${worst}`);
      } finally {
        scheme.dispose();
      }
    });

  it("trainDpSgd on worker threads draws each step's noise while they clip: once per step, the release addNoise makes", async () => {
    const run = async (ahead: boolean) => {
      const scheme = createScheme("side", backbone, { numClasses: 2, reduction: 4 });
      const model = scheme.bind(texts, labels, { contextLength: 16, threads: 2 });
      const base = insecureSeededTrainingRandomForTests(12);
      const calls = { draw: 0, drawn: 0, add: 0 };
      const random: TrainingRandom = {
        poissonSample: base.poissonSample,
        addNoise(values, std, sensitivity) {
          calls.add++;
          base.addNoise(values, std, sensitivity);
        },
        ...(ahead
          ? {
              drawNoise(dimension: number, std: number, sensitivity: number) {
                calls.draw++;
                return base.drawNoise!(dimension, std, sensitivity);
              },
              addDrawnNoise(
                values: Float32Array | Float64Array,
                noise: LatticeNoise,
                std: number,
                sensitivity: number,
              ) {
                calls.drawn++;
                base.addDrawnNoise!(values, noise, std, sensitivity);
              },
            }
          : {}),
      };
      await trainDpSgd({
        model: model as TrainableModel,
        config: { ...stepConfig(), steps: 3 },
        optimizer: new Sgd({ momentum: 0 }),
        schedule: () => 0.2,
        random,
      });
      const weights = scheme.exportTrainable();
      scheme.dispose();
      return { calls, weights };
    };
    const ahead = await run(true);
    const inline = await run(false);
    assert.deepEqual(ahead.calls, { draw: 3, drawn: 3, add: 0 });
    assert.deepEqual(inline.calls, { draw: 0, drawn: 0, add: 3 });
    for (const [name, w] of Object.entries(inline.weights)) {
      const v = ahead.weights[name]!;
      let worst = 0;
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(w[i]! - v[i]!));
      // The same noise from the same bits; the clipped sums differ only by float summation order.
      assert.ok(worst < 1e-3, `${name} differs by ${worst}`);
    }
  });

  it("with the production random source, each step's noise is drawn once, in shares on the workers' CSPRNGs", async () => {
    const scheme = createScheme("side", backbone, { numClasses: 2, reduction: 4 });
    try {
      const model = scheme.bind(texts, labels, { contextLength: 16, threads: 2 }) as ParallelSchemeModel;
      const workers = model.parallel.noiseWorkers!;
      const draws: { dimension: number; counts: number[]; got: number[] }[] = [];
      const counting = {
        ...model.parallel,
        noiseWorkers: {
          concurrency: workers.concurrency,
          async drawShares(dimension: number, counts: number[], o: { std: number; sensitivity: number }) {
            const shares = await workers.drawShares(dimension, counts, o);
            draws.push({ dimension, counts, got: shares.map((v) => v.length) });
            return shares;
          },
        },
      };
      const wrapped = new Proxy(model, {
        get: (target, key) => (key === "parallel" ? counting : Reflect.get(target, key, target)),
      });
      let dimension = 0;
      for (const p of model.params.values()) dimension += p.size;
      const r = await trainDpSgd({
        model: wrapped as TrainableModel,
        config: { ...stepConfig(), steps: 3 },
        optimizer: new Sgd({ momentum: 0 }),
        schedule: () => 0.2,
        random: secureTrainingRandom(),
      });
      assert.equal(r.stepsTaken, 3);
      assert.equal(draws.length, 3, "one draw per step");
      for (const d of draws) {
        assert.equal(d.dimension, dimension);
        assert.deepEqual(d.got, d.counts);
        assert.equal(
          d.counts.reduce((a, b) => a + b, 0),
          dimension,
          "the shares cover the release exactly once",
        );
        assert.ok(d.counts.length > 2, "several shares, so both workers draw");
      }
      // The workers' draws are the lattice's integer noise: integers of the plan's σ.
      const o = { std: 0.4, sensitivity: 0.5 };
      const [share] = await workers.drawShares(50_000, [20_000], o);
      const sd = Math.sqrt(share!.reduce((q, v) => q + v * v, 0) / share!.length);
      const want = planLattice(50_000, o).latticeStd;
      assert.ok(share!.every(Number.isInteger));
      assert.ok(Math.abs(sd / want - 1) < 0.05, `share σ ${sd} vs the plan's ${want}`);
    } finally {
      scheme.dispose();
    }
  });

  it("a pool whose workers cannot start fails the step with a clear error", async () => {
    const pool = new ClipPool(1, {
      backbone: { dir: join(root, "missing") },
      kind: "side",
      scheme: { numClasses: 2 },
      objective: "classify",
    });
    await assert.rejects(
      pool.run({
        mode: "clipped",
        clipNorm: 1,
        batch: {
          count: 0,
          length: 1,
          ids: new Int32Array(0),
          lengths: new Int32Array(0),
          labels: new Int32Array(0),
          features: null,
          width: 1,
        },
        weights: () => ({ version: 1, values: {} }),
      }),
      (e: Error & { code?: string }) =>
        e.code === "E_PARALLEL" &&
        /failed to start/.test(e.message) &&
        /missing config\.json/.test(e.message),
    );
    await pool.close();
  });

  it("a worker that cannot be spawned fails the pool at once and stops the ones already started", async () => {
    const started: string[] = [];
    const setup = {
      backbone: { dir },
      kind: "side" as const,
      scheme: { numClasses: 2 },
      objective: "classify" as const,
    };
    let calls = 0;
    assert.throws(
      () =>
        new ClipPool(3, setup, (s, on) => {
          if (++calls === 2) throw new Error("no more workers here");
          const handle = spawnClipWorker(s, on);
          return {
            ...handle,
            terminate: () => {
              started.push("terminated");
              return handle.terminate();
            },
          };
        }),
      (e: Error & { code?: string }) => e.code === "E_PARALLEL" && /no more workers here/.test(e.message),
    );
    assert.deepEqual(started, ["terminated"]);
  });

  it("idle workers never keep a finished program alive (a model nobody disposed)", () => {
    // Node references a Worker again whenever a "message" listener is added, so a pool that adds
    // one after start-up hangs the process at exit (a real client did, after its run finished).
    const at = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
    const script = join(root, "exit.mjs");
    writeFileSync(
      script,
      `import { initBackend } from ${JSON.stringify(import.meta.resolve("@memarc/tensor"))};
       import { loadBackbone } from ${at("../node/backbone-dir.js")};
       import { createScheme } from ${at("../finetune/schemes.js")};
       await initBackend({ log: null });
       const scheme = createScheme("side", await loadBackbone(${JSON.stringify(dir)}), { numClasses: 2, reduction: 4 });
       const model = scheme.bind(["free cash", "meeting notes", "the agenda"], Int32Array.from([1, 0, 0]), { contextLength: 16, threads: 2 });
       const r = await model.parallel.clippedGradients(Int32Array.from([0, 1, 2]), 1);
       console.log("norms", r.norms.length);`,
    );
    const child = spawnSync(process.execPath, [script], {
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(child.signal, null, "the process did not exit by itself within 60 s");
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /norms 3/);
  });
});
