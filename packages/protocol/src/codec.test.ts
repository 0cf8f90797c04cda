import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeHandshake, decodeSessionMessage, encodeMessage } from "./codec.js";
import { createChallenge, createJoin } from "./handshake.js";
import { generateIdentity } from "./identity.js";
import { tensorSpecOf } from "./message-schemas.js";
import { DEFAULT_LIMITS, type Limits, PROTOCOL_VERSION } from "./messages.js";
import * as fx from "./testing/fixtures.js";
import { thrownCode } from "./testing/thrown-code.js";

const L = DEFAULT_LIMITS;
const opts = { limits: L };

describe("codec + schema", () => {
  it("round-trips every session message with Float32Arrays intact and aligned", () => {
    const coordinator = [fx.roundTask(), fx.evaluateTask(), fx.ack, fx.error, fx.bye];
    const node = [fx.update(), fx.evaluateResult(), fx.ack, fx.error, fx.bye];
    for (const m of coordinator)
      assert.deepEqual(decodeSessionMessage("coordinator", encodeMessage(m), opts), m);
    for (const m of node) assert.deepEqual(decodeSessionMessage("node", encodeMessage(m), opts), m);
    const back = decodeSessionMessage("coordinator", encodeMessage(fx.roundTask(1, 1001)), opts);
    assert.equal(back.type, "round_task");
    const big = back.type === "round_task" ? back.weights[2] : undefined;
    assert.ok(big?.data instanceof Float32Array);
    assert.equal(big.data.byteOffset % 4, 0);
    assert.equal(big.data[1000], Math.fround(Math.sin(1000)));
  });

  it("round-trips every handshake message", () => {
    const node = generateIdentity();
    const coord = generateIdentity();
    const { join } = createJoin(node, { backend: "wasm", memoryBytes: 123, schemes: ["lora"] }, L);
    const { challenge } = createChallenge(coord, join, L);
    assert.deepEqual(decodeHandshake(encodeMessage(join), L), join);
    assert.deepEqual(decodeHandshake(encodeMessage(challenge), L), challenge);
    const refused = {
      type: "refused",
      version: PROTOCOL_VERSION,
      code: "E_UNKNOWN_NODE",
      message: "no",
    } as const;
    assert.deepEqual(decodeHandshake(encodeMessage(refused), L), refused);
  });

  it("rejects a foreign protocol version with E_VERSION", () => {
    const { join } = createJoin(generateIdentity(), { backend: "wasm", memoryBytes: 1, schemes: [] }, L);
    assert.equal(
      thrownCode(() => decodeHandshake(encodeMessage({ ...join, version: PROTOCOL_VERSION + 1 }), L)),
      "E_VERSION",
    );
  });

  it("rejects NaN and ±Infinity anywhere in a tensor, and in scalars", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const u = fx.update();
      (u.delta[1] as { data: Float32Array }).data[3] = bad;
      assert.equal(
        thrownCode(() => decodeSessionMessage("node", encodeMessage(u), opts)),
        "E_SCHEMA",
      );
      assert.equal(
        thrownCode(() =>
          decodeSessionMessage("node", encodeMessage({ ...fx.update(), epsilonSpent: bad }), opts),
        ),
        "E_SCHEMA",
      );
      assert.equal(
        thrownCode(() =>
          decodeSessionMessage("node", encodeMessage({ ...fx.evaluateResult(), correct: bad }), opts),
        ),
        "E_SCHEMA",
      );
    }
  });

  it("has no place for a loss, a metric or an example count: the privacy boundary is in the schema", () => {
    const leaks: [string, object][] = [
      ["update.metrics", { ...fx.update(), metrics: { loss: 0.69 } }],
      ["update.numExamples", { ...fx.update(), numExamples: 321 }],
      ["update.loss", { ...fx.update(), loss: 0.69 }],
      ["evaluate_result.loss", { ...fx.evaluateResult(), loss: 0.69 }],
      ["evaluate_result.numExamples", { ...fx.evaluateResult(), numExamples: 500 }],
      ["evaluate_result.metrics", { ...fx.evaluateResult(), metrics: { accuracy: 1 } }],
    ];
    for (const [what, m] of leaks)
      assert.equal(
        thrownCode(() => decodeSessionMessage("node", encodeMessage(m as never), opts)),
        "E_SCHEMA",
        what,
      );
    const { join } = createJoin(
      generateIdentity(),
      { backend: "wasm", memoryBytes: 1, schemes: [], examples: 12 } as never,
      L,
    );
    assert.equal(
      thrownCode(() => decodeHandshake(encodeMessage(join), L)),
      "E_SCHEMA",
      "capabilities.examples",
    );
  });

  it("refuses a round task whose plan misses or mistypes a field: sampling rate, noise, δ, schedule, context, clips", () => {
    const task = fx.roundTask();
    const dp = task.training.dp!;
    const { sampleRate: _q, ...noRate } = task.training;
    const { contextLength: _t, ...noContext } = task.training;
    const with_ = (patch: Record<string, unknown>) => ({ ...task, training: { ...task.training, ...patch } });
    const bad = [
      { ...task, training: noRate },
      { ...task, training: noContext },
      with_({ dp: { ...dp, noiseMultiplier: 0 } }),
      with_({ dp: { ...dp, delta: 1 } }),
      with_({ dp: { ...dp, clipNorm: 1 } }),
      with_({ dp: { ...dp, accountant: "rdp" } }),
      with_({ schedule: "exponential" }),
      with_({ contextLength: 0 }),
      with_({ contextLength: 64.5 }),
      with_({ warmupSteps: -1 }),
      with_({ maxPhysicalBatch: 0 }),
      with_({ updateClip: 0 }),
      with_({ reportUnclipped: "yes" }),
      with_({ params: { rank: 4 } }),
    ];
    for (const m of bad)
      assert.equal(
        thrownCode(() => decodeSessionMessage("coordinator", encodeMessage(m as never), opts)),
        "E_SCHEMA",
      );
  });

  it("checks an update's tensors against the round's spec: names, shapes, dtype", () => {
    const spec = tensorSpecOf(fx.roundTask().weights);
    const withSpec = { limits: L, expectedUpdate: (r: number) => (r === 7 ? spec : undefined) };
    assert.equal(decodeSessionMessage("node", encodeMessage(fx.update()), withSpec).type, "update");
    const wrongShape = fx.update();
    (wrongShape.delta[0] as { shape: number[] }).shape = [4, 3];
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", encodeMessage(wrongShape), withSpec)),
      "E_SCHEMA",
    );
    const renamed = fx.update();
    (renamed.delta[0] as { name: string }).name = "other";
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", encodeMessage(renamed), withSpec)),
      "E_SCHEMA",
    );
    const missing = { ...fx.update(), delta: fx.update().delta.slice(1) };
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", encodeMessage(missing), withSpec)),
      "E_SCHEMA",
    );
    const f64 = fx.update();
    (f64.delta[1] as unknown as { data: Float64Array }).data = new Float64Array(5);
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", encodeMessage(f64), withSpec)),
      "E_SCHEMA",
    );
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", encodeMessage(fx.update(8)), withSpec)),
      "E_UNEXPECTED",
    );
  });

  it("rejects shape/data disagreement and duplicate names even without a spec", () => {
    const u = fx.update();
    (u.delta[1] as { shape: number[] }).shape = [6];
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", encodeMessage(u), opts)),
      "E_SCHEMA",
    );
    const d = fx.update();
    (d.delta[1] as { name: string }).name = d.delta[0]?.name as string;
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", encodeMessage(d), opts)),
      "E_SCHEMA",
    );
  });

  it("rejects unknown keys at every level, and non-plain objects", () => {
    assert.equal(
      thrownCode(() =>
        decodeSessionMessage("node", encodeMessage({ ...fx.update(), extra: 1 } as never), opts),
      ),
      "E_SCHEMA",
    );
    const t = fx.roundTask();
    (t.training as unknown as Record<string, unknown>).secretKnob = true;
    assert.equal(
      thrownCode(() => decodeSessionMessage("coordinator", encodeMessage(t), opts)),
      "E_SCHEMA",
    );
    const u = fx.update();
    (u.delta[0] as unknown as Record<string, unknown>).dtype = "float32";
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", encodeMessage(u), opts)),
      "E_SCHEMA",
    );
    assert.equal(
      thrownCode(() =>
        decodeSessionMessage("node", encodeMessage(new Map([["type", "bye"]]) as never), opts),
      ),
      "E_SCHEMA",
    );
  });

  it("enforces string, count and size limits", () => {
    const small: Limits = { ...L, maxStringLength: 10, maxTensors: 1, maxMessageBytes: 2000 };
    const o = { limits: small };
    assert.equal(
      thrownCode(() =>
        decodeSessionMessage("node", encodeMessage({ ...fx.error, message: "x".repeat(11) }), o),
      ),
      "E_SCHEMA",
    );
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", encodeMessage(fx.update()), o)),
      "E_SCHEMA",
    );
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", encodeMessage(fx.update(7, 1000)), o)),
      "E_TOO_LARGE",
    );
    assert.equal(
      thrownCode(() =>
        decodeSessionMessage("node", encodeMessage({ ...fx.bye, reason: "r".repeat(300) }), opts),
      ),
      "E_SCHEMA",
    );
  });

  it("rejects wrong types, messages from the wrong side, and trailing or truncated bytes", () => {
    assert.equal(
      thrownCode(() =>
        decodeSessionMessage("node", encodeMessage({ ...fx.update(), roundId: "7" } as never), opts),
      ),
      "E_SCHEMA",
    );
    assert.equal(
      thrownCode(() =>
        decodeSessionMessage("node", encodeMessage({ ...fx.update(), unclipped: 1 } as never), opts),
      ),
      "E_SCHEMA",
    );
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", encodeMessage(fx.roundTask()), opts)),
      "E_SCHEMA",
    );
    assert.equal(
      thrownCode(() => decodeSessionMessage("coordinator", encodeMessage(fx.update()), opts)),
      "E_SCHEMA",
    );
    const bytes = encodeMessage(fx.update());
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", bytes.subarray(0, bytes.length - 3), opts)),
      "E_DECODE",
    );
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", longer, opts)),
      "E_DECODE",
    );
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", new Uint8Array(0), opts)),
      "E_DECODE",
    );
  });

  it("does not let a __proto__ key pollute prototypes; it is an unknown key", () => {
    const evil = JSON.parse('{"type":"bye","reason":"x","__proto__":{"polluted":true}}');
    assert.equal(
      thrownCode(() => decodeSessionMessage("node", encodeMessage(evil), opts)),
      "E_SCHEMA",
    );
    const task = fx.roundTask();
    const training = JSON.parse(JSON.stringify(task.training).replace(/^\{/, '{"__proto__":{"polluted":1},'));
    assert.equal(
      thrownCode(() => decodeSessionMessage("coordinator", encodeMessage({ ...task, training }), opts)),
      "E_SCHEMA",
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
