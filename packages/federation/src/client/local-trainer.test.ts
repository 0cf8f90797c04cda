import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createAccountant } from "@memarc/privacy";
import { initBackend } from "@memarc/tensor";
import { insecureSeededTrainingRandomForTests } from "@memarc/train/testing";
import type { EvaluateRequest, FitRequest } from "../coordinator/node-pool.js";
import { composePlan, localOptimizationFor } from "../plan/local-training-plan.js";
import type { FitConfig, LocalDpSettings } from "../strategy/types.js";
import { logregLocalModel } from "../testing/logreg-model.js";
import { syntheticTextTask } from "../testing/text-corpus.js";
import { l2Norm } from "../weights.js";
import { LocalTrainer, type NodePrivacyPolicy, PolicyError } from "./local-trainer.js";

before(async () => {
  await initBackend({ log: null });
});

const corpus = syntheticTextTask;
const DELTA = 1e-5;
const LOCAL_DP: LocalDpSettings = {
  noiseMultiplier: 1,
  perExampleClip: 1,
  sampleRate: 0.1,
  expectedBatchSize: 40,
  steps: 20,
};
const OPEN: NodePrivacyPolicy = { maxEpsilon: null, maxDelta: DELTA, acceptCentralDp: false };

/** A round's plan as the coordinator composes it: logreg, SGD at 0.5, the strategy's `extra`. */
function request(
  weights: FitRequest["weights"],
  extra: Partial<FitConfig> & { steps?: number } = {},
): FitRequest {
  const { steps, ...config } = extra;
  const training = localOptimizationFor("logreg", {
    learningRate: 0.5,
    optimizer: "sgd",
    ...(steps ? { steps } : {}),
  });
  return {
    round: 1,
    weights,
    deadline: Date.now() + 60_000,
    plan: composePlan(training, { localDp: LOCAL_DP, updateClip: null, ...config }, DELTA),
  };
}

function evaluation(weights: EvaluateRequest["weights"], noiseMultiplier = 2): EvaluateRequest {
  return { round: 1, weights, deadline: Date.now() + 60_000, mechanism: { noiseMultiplier, lossBound: 10 } };
}

function trainer(seed: number, policy: Partial<NodePrivacyPolicy> = {}, sizes = [400, 200]) {
  const model = logregLocalModel(corpus(sizes[0]!, seed), corpus(sizes[1]!, seed + 1), 2, 256);
  const t = new LocalTrainer(model, {
    random: insecureSeededTrainingRandomForTests(seed + 2),
    policy: { ...OPEN, ...policy },
  });
  return { model, t };
}

describe("LocalTrainer", () => {
  it("trains with DP-SGD, returns Δ = trained − received, and accounts its own steps at the run's δ", async () => {
    const { model, t } = trainer(1);
    const w0 = model.getWeights();
    const before = model.evaluate()!.accuracy;
    const reply = await t.fit(request(w0), DELTA);
    const w1 = model.getWeights();
    for (const k of Object.keys(w0)) {
      const d = reply.delta[k]!;
      for (const [i, v] of d.entries()) assert.ok(Math.abs(v - (w1[k]![i]! - w0[k]![i]!)) < 1e-6);
    }
    assert.deepEqual(Object.keys(reply).sort(), ["delta", "localEpsilon", "unclipped"]);
    assert.equal(reply.unclipped, null);
    const expected = createAccountant("rdp").step(LOCAL_DP).getEpsilon(DELTA);
    assert.ok(Math.abs(reply.localEpsilon! - expected) < 1e-12);
    const after = model.evaluate()!.accuracy;
    assert.ok(after > Math.max(before, 0.8), `accuracy ${after}`);
    model.dispose();
  });

  it("clips the whole update to the requested norm and reports the raw update's bit, not the clipped one", async () => {
    // Raw updates far above the bound: the bit must say "clipped" although the sent Δ fits exactly.
    const { model, t } = trainer(4, {}, [200, 50]);
    const tight = await t.fit(
      request(model.getWeights(), { updateClip: 0.01, reportUnclipped: true }),
      DELTA,
    );
    assert.ok(Math.abs(l2Norm(tight.delta) - 0.01) < 1e-6);
    assert.equal(tight.unclipped, false);
    // A bound far above the raw norm: unclipped, and Δ is sent unchanged.
    const loose = await t.fit(request(model.getWeights(), { updateClip: 1e6, reportUnclipped: true }), DELTA);
    assert.equal(loose.unclipped, true);
    assert.ok(l2Norm(loose.delta) < 1e6);
    // Not asked: no bit.
    const none = await t.fit(request(model.getWeights(), { updateClip: 0.01 }), DELTA);
    assert.equal(none.unclipped, null);
    model.dispose();
  });

  it("refuses a task that would exceed the node's own ε limit, before touching the data", async () => {
    const { model, t } = trainer(7, { maxEpsilon: 0.5 }, [100, 20]);
    const w0 = model.getWeights();
    await assert.rejects(
      t.fit(request(w0, { localDp: { ...LOCAL_DP, noiseMultiplier: 0.3 } }), DELTA),
      (e: Error) => e instanceof PolicyError && e.code === "E_LOCAL_BUDGET" && /ε limit 0.5/.test(e.message),
    );
    assert.equal(t.localEpsilon(), null);
    assert.deepEqual(model.getWeights(), w0);
    model.dispose();
  });

  it("refuses training without local noise unless its operator accepted central DP (and then only clipped)", async () => {
    const { model, t } = trainer(10, {}, [100, 20]);
    const w0 = model.getWeights();
    await assert.rejects(
      t.fit(request(w0, { localDp: null, updateClip: 1 }), DELTA),
      (e: Error) =>
        e instanceof PolicyError && e.code === "E_NOT_PRIVATE" && /--accept-central-dp/.test(e.message),
    );
    assert.deepEqual(model.getWeights(), w0, "no training happened");
    const central = new LocalTrainer(model, {
      random: insecureSeededTrainingRandomForTests(1),
      policy: { ...OPEN, acceptCentralDp: true },
    });
    await assert.rejects(
      central.fit(request(w0, { localDp: null, updateClip: null }), DELTA),
      (e: Error) => e instanceof PolicyError && e.code === "E_NOT_PRIVATE",
    );
    const ok = await central.fit(request(w0, { localDp: null, updateClip: 0.5, steps: 3 }), DELTA);
    assert.ok(l2Norm(ok.delta) <= 0.5 + 1e-6);
    model.dispose();
  });

  it("accounts at the run's δ and refuses a δ larger than its operator accepts", async () => {
    const { model, t } = trainer(13, { maxDelta: 1e-5 }, [100, 20]);
    const w0 = model.getWeights();
    await assert.rejects(
      t.fit(request(w0), 1e-3),
      (e: Error) => e instanceof PolicyError && e.code === "E_DELTA",
    );
    assert.equal(t.localEpsilon(), null);
    const r = await t.fit(request(w0), 1e-7);
    const at = createAccountant("rdp").step(LOCAL_DP).getEpsilon(1e-7);
    assert.ok(Math.abs(r.localEpsilon! - at) < 1e-12, "ε reported at the run's δ = 1e-7");
    model.dispose();
  });

  it("evaluates privately: noised sums, charged to its accountant, refused once past its ε limit", () => {
    const { model, t } = trainer(16, { maxEpsilon: 3 }, [100, 300]);
    const w = model.getWeights();
    const exact = model.evaluate()!;
    const r = t.evaluate(evaluation(w), DELTA)!;
    assert.deepEqual(Object.keys(r).sort(), ["correct", "count", "lossSum"]);
    // Noise std on each sum is z·√3 ≈ 3.5: close to the truth, but not equal to it.
    const sd = 2 * Math.sqrt(3);
    assert.ok(Math.abs(r.count - 300) < 6 * sd && r.count !== 300, `count ${r.count}`);
    assert.ok(Math.abs(r.correct - exact.correct) < 6 * sd && r.correct !== exact.correct);
    const one = createAccountant("rdp").step({ noiseMultiplier: 2, sampleRate: 1 }).getEpsilon(DELTA);
    assert.ok(Math.abs(t.localEpsilon()! - one) < 1e-12, "one evaluation charged");
    let answered = 1;
    for (;;) {
      try {
        t.evaluate(evaluation(w), DELTA);
        answered++;
      } catch (err) {
        assert.ok(err instanceof PolicyError && err.code === "E_LOCAL_BUDGET");
        break;
      }
      assert.ok(answered < 100, "evaluation never refused");
    }
    assert.ok(t.localEpsilon()! <= 3, `ε ${t.localEpsilon()} stays within the limit`);
    const n = createAccountant("rdp").step({ noiseMultiplier: 2, sampleRate: 1, steps: answered + 1 });
    assert.ok(n.getEpsilon(DELTA) > 3, "refused exactly when the next evaluation would cross the limit");
    model.dispose();
  });

  it("rejects bad weights (malformed plans never reach it: the protocol's schema refuses them)", async () => {
    const { model, t } = trainer(1, {}, [20, 10]);
    await assert.rejects(
      t.fit(request({ weight: new Float32Array(3) }), DELTA),
      /missing tensor "bias"|has 3 values|missing or wrong size/,
    );
    model.dispose();
  });
});
