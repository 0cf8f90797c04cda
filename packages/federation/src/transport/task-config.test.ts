/**
 * The local training plan through the real wire path — compose on the coordinator, encode, seal,
 * open, decode (schema-checked), back to a FitRequest on the node — comes back field for field
 * equal, for every scheme, with and without local DP.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { DEFAULT_LIMITS, decodeSessionMessage, encodeMessage } from "@memarc/protocol";
import {
  DIRECTION_COORDINATOR_TO_NODE as C2N,
  DIRECTION_NODE_TO_COORDINATOR as N2C,
  SessionCipher,
} from "@memarc/protocol/testing";
import { FINETUNE_SCHEMES } from "@memarc/train";
import type { FitRequest } from "../coordinator/node-pool.js";
import { composePlan, type LocalTrainingPlan, localOptimizationFor } from "../plan/local-training-plan.js";
import { fromRoundTask, toRoundTask } from "./task-config.js";

const shapes = { "cls.weight": [3, 2], "cls.bias": [2] };
const weights = {
  "cls.weight": Float32Array.from([1, 2, 3, 4, 5, 6]),
  "cls.bias": Float32Array.from([7, 8]),
};

const key = new Uint8Array(randomBytes(32));
const coordinator = new SessionCipher(key, C2N, N2C);
const node = new SessionCipher(key, N2C, C2N);

function viaWire(req: FitRequest): FitRequest {
  const msg = toRoundTask(req, shapes);
  const opened = node.open(coordinator.seal(encodeMessage(msg)));
  const decoded = decodeSessionMessage("coordinator", opened, { limits: DEFAULT_LIMITS });
  assert.equal(decoded.type, "round_task");
  return fromRoundTask(decoded as typeof msg);
}

const request = (plan: LocalTrainingPlan): FitRequest => ({
  round: 3,
  weights,
  deadline: 1_900_000_000_000,
  plan,
});

/** Every field away from its default, so a dropped field cannot come back equal by accident. */
const NON_DEFAULT = {
  optimizer: "adamw",
  learningRate: 0.0123,
  schedule: "cosine",
  warmupSteps: 7,
  maxPhysicalBatch: 13,
  steps: 11,
  sampleRate: 0.33,
} as const;

describe("the local training plan through encode → seal → open → decode", () => {
  for (const scheme of FINETUNE_SCHEMES) {
    it(`${scheme}: every field comes back equal, with local DP and adaptive clipping`, () => {
      const training = localOptimizationFor(scheme, {
        ...NON_DEFAULT,
        contextLength: scheme === "logreg" ? null : 48,
      });
      const plan = composePlan(
        training,
        {
          localDp: {
            noiseMultiplier: 1.3,
            perExampleClip: 0.5,
            sampleRate: 0.037,
            expectedBatchSize: 37,
            steps: 17,
          },
          updateClip: 2.5,
          reportUnclipped: true,
        },
        1e-6,
      );
      assert.deepEqual(Object.keys(plan).sort(), [
        "contextLength",
        "dp",
        "learningRate",
        "maxPhysicalBatch",
        "optimizer",
        "reportUnclipped",
        "sampleRate",
        "schedule",
        "scheme",
        "steps",
        "updateClip",
        "warmupSteps",
      ]);
      const back = viaWire(request(plan));
      assert.deepEqual(back.plan, plan);
      assert.equal(back.plan.contextLength, scheme === "logreg" ? null : 48);
      // With local DP, the strategy's steps and rate are the ones that run (and are accounted).
      assert.equal(back.plan.steps, 17);
      assert.equal(back.plan.sampleRate, 0.037);
      assert.deepEqual(back.plan.dp, {
        perExampleClip: 0.5,
        noiseMultiplier: 1.3,
        delta: 1e-6,
        expectedBatchSize: 37,
      });
      assert.equal(back.round, 3);
      assert.equal(back.deadline, 1_900_000_000_000);
      assert.deepEqual(back.weights, weights);
    });
  }

  it("without local DP the run's own steps and rate travel, and no update clip", () => {
    const plan = composePlan(
      localOptimizationFor("side", NON_DEFAULT),
      { localDp: null, updateClip: null },
      1e-5,
    );
    const back = viaWire(request(plan));
    assert.deepEqual(back.plan, plan);
    assert.equal(back.plan.dp, null);
    assert.equal(back.plan.steps, 11);
    assert.equal(back.plan.sampleRate, 0.33);
    assert.equal(back.plan.updateClip, null);
    assert.equal(back.plan.reportUnclipped, false);
  });

  it("orders the tensors by name with their shapes", () => {
    const plan = composePlan(localOptimizationFor("logreg"), { localDp: null, updateClip: null }, 1e-5);
    assert.deepEqual(
      toRoundTask(request(plan), shapes).weights.map((t) => [t.name, t.shape]),
      [
        ["cls.bias", [2]],
        ["cls.weight", [3, 2]],
      ],
    );
  });
});
