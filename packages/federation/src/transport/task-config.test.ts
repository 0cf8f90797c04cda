import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_LIMITS, decodeSessionMessage, encodeMessage } from "@memarc/protocol";
import type { FitRequest } from "../coordinator/node-pool.js";
import { fromRoundTask, toRoundTask } from "./task-config.js";

const shapes = { "cls.weight": [3, 2], "cls.bias": [2] };
const weights = {
  "cls.weight": Float32Array.from([1, 2, 3, 4, 5, 6]),
  "cls.bias": Float32Array.from([7, 8]),
};

function viaWire(req: FitRequest): FitRequest {
  const msg = toRoundTask(req, shapes, 1e-5);
  const decoded = decodeSessionMessage("coordinator", encodeMessage(msg), { limits: DEFAULT_LIMITS });
  assert.equal(decoded.type, "round_task");
  return fromRoundTask(decoded as typeof msg);
}

describe("round task conversion through the real codec", () => {
  it("keeps weights, shapes, local DP settings and training settings (context length included)", () => {
    const req: FitRequest = {
      round: 3,
      weights,
      deadline: 1_900_000_000_000,
      config: {
        localDp: { noiseMultiplier: 1.3, clipNorm: 0.5, sampleRate: 0.037, expectedBatchSize: 37, steps: 17 },
        updateClipNorm: 2.5,
        scheme: "side",
        learningRate: 0.01,
        optimizer: "adam",
        schedule: "cosine",
        maxPhysicalBatch: 16,
        contextLength: 48,
        reportUnclipped: true,
      },
    };
    const back = viaWire(req);
    assert.equal(back.round, 3);
    assert.equal(back.deadline, req.deadline);
    assert.deepEqual(back.config.localDp, req.config.localDp);
    assert.equal(back.config.updateClipNorm, 2.5);
    for (const k of [
      "scheme",
      "learningRate",
      "optimizer",
      "schedule",
      "maxPhysicalBatch",
      "contextLength",
      "reportUnclipped",
    ]) {
      assert.equal(back.config[k], req.config[k], k);
    }
    assert.deepEqual(back.weights, weights);
    assert.deepEqual(
      toRoundTask(req, shapes, 1e-5).weights.map((t) => [t.name, t.shape]),
      [
        ["cls.bias", [2]],
        ["cls.weight", [3, 2]],
      ],
    );
  });

  it("carries a task without local DP", () => {
    const back = viaWire({
      round: 1,
      weights,
      deadline: 1_900_000_000_000,
      config: { localDp: null, updateClipNorm: null, steps: 9, sampleRate: 0.25, optimizer: "sgd" },
    });
    assert.equal(back.config.localDp, null);
    assert.equal(back.config.steps, 9);
    assert.equal(back.config.sampleRate, 0.25);
    assert.equal(back.config.optimizer, "sgd");
    assert.equal(back.config.updateClipNorm, null);
  });
});
