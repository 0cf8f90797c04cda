import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createAccountant } from "@memarc/privacy";
import { initBackend } from "@memarc/tensor";
import { insecureSeededTrainingRandomForTests } from "@memarc/train/testing";
import type { FitRequest } from "../coordinator/node-pool.js";
import { logregLocalModel } from "../testing/logreg-model.js";
import { syntheticTextTask } from "../testing/text-corpus.js";
import { l2Norm } from "../weights.js";
import { LocalBudgetError, LocalTrainer, readTrainingSettings } from "./local-trainer.js";

before(async () => {
  await initBackend({ log: null });
});

const corpus = syntheticTextTask;

const LOCAL_DP = { noiseMultiplier: 1, clipNorm: 1, sampleRate: 0.1, steps: 20 };

function request(weights: FitRequest["weights"], extra: Partial<FitRequest["config"]> = {}): FitRequest {
  return {
    round: 1,
    weights,
    deadline: Date.now() + 60_000,
    config: { localDp: LOCAL_DP, updateClipNorm: null, learningRate: 0.5, optimizer: "sgd", ...extra },
  };
}

describe("LocalTrainer", () => {
  it("trains with DP-SGD, returns Δ = trained − received, and accounts its own steps", async () => {
    const model = logregLocalModel(corpus(400, 1), corpus(200, 2), 2, 256);
    const trainer = new LocalTrainer(model, {
      random: insecureSeededTrainingRandomForTests(3),
      maxEpsilon: null,
      delta: 1e-5,
    });
    const w0 = model.getWeights();
    const before = model.evaluate().metrics.accuracy!;
    const reply = await trainer.fit(request(w0));
    const w1 = model.getWeights();
    for (const k of Object.keys(w0)) {
      const d = reply.delta[k]!;
      for (const [i, v] of d.entries()) assert.ok(Math.abs(v - (w1[k]![i]! - w0[k]![i]!)) < 1e-6);
    }
    assert.equal(reply.numExamples, 400);
    const expected = createAccountant("rdp").step(LOCAL_DP).getEpsilon(1e-5);
    assert.ok(Math.abs(reply.localEpsilon! - expected) < 1e-12);
    assert.ok(
      model.evaluate().metrics.accuracy! > Math.max(before, 0.8),
      `accuracy ${model.evaluate().metrics.accuracy}`,
    );
    model.dispose();
  });

  it("clips the whole update to the requested norm", async () => {
    const model = logregLocalModel(corpus(200, 4), corpus(50, 5), 2, 128);
    const trainer = new LocalTrainer(model, {
      random: insecureSeededTrainingRandomForTests(6),
      maxEpsilon: null,
      delta: 1e-5,
    });
    const reply = await trainer.fit(request(model.getWeights(), { updateClipNorm: 0.01 }));
    assert.ok(Math.abs(l2Norm(reply.delta) - 0.01) < 1e-6);
    assert.ok(reply.metrics.updateNorm! > 0.01);
    model.dispose();
  });

  it("refuses a task that would exceed the node's own ε limit, spending nothing", async () => {
    const model = logregLocalModel(corpus(100, 7), corpus(20, 8), 2, 64);
    const trainer = new LocalTrainer(model, {
      random: insecureSeededTrainingRandomForTests(9),
      maxEpsilon: 0.5,
      delta: 1e-5,
    });
    const w0 = model.getWeights();
    await assert.rejects(
      trainer.fit(request(w0, { localDp: { ...LOCAL_DP, noiseMultiplier: 0.3 } })),
      (e: Error) => e instanceof LocalBudgetError && /ε limit 0.5/.test(e.message),
    );
    assert.equal(trainer.localEpsilon(), null);
    assert.deepEqual(model.getWeights(), w0);
    model.dispose();
  });

  it("rejects malformed task settings naming the field, and bad weights", async () => {
    assert.throws(() => readTrainingSettings({ learningRate: -1 }), /learningRate/);
    assert.throws(() => readTrainingSettings({ optimizer: "lbfgs" }), /optimizer/);
    assert.throws(() => readTrainingSettings({ maxPhysicalBatch: 1.5 }), /maxPhysicalBatch/);
    const model = logregLocalModel(corpus(20, 1), corpus(10, 2), 2, 16);
    const trainer = new LocalTrainer(model, {
      random: insecureSeededTrainingRandomForTests(1),
      maxEpsilon: null,
      delta: 1e-5,
    });
    await assert.rejects(
      trainer.fit(request({ weight: new Float32Array(3) })),
      /missing tensor "bias"|has 3 values|missing or wrong size/,
    );
    model.dispose();
  });
});
