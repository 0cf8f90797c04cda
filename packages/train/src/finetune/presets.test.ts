/**
 * A non-private run takes its scheme's override field by field: what the override names changes,
 * everything else stays the private preset's (lora's override sets batch and epochs only, so it must
 * keep the preset's optimizer and learning rate).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { presetFor, TRAINING_PRESETS } from "./presets.js";
import type { FinetuneSchemeKind } from "./schemes.js";

test("presetFor applies a non-private override field by field, and only when the run is non-private", () => {
  for (const scheme of Object.keys(TRAINING_PRESETS) as FinetuneSchemeKind[]) {
    const { nonPrivate, ...base } = TRAINING_PRESETS[scheme];
    assert.deepEqual(presetFor(scheme), base, `${scheme}: a private run takes the preset as it is`);
    const open = presetFor(scheme, { private: false });
    if (!nonPrivate) {
      assert.deepEqual(open, base, `${scheme} has no override`);
      continue;
    }
    for (const key of Object.keys(base) as (keyof typeof base)[]) {
      const expected: unknown = key in nonPrivate ? nonPrivate[key as keyof typeof nonPrivate] : base[key];
      assert.equal(open[key], expected, `${scheme}.${key}`);
    }
  }
  // The cases the presets' comments rely on.
  const lora = presetFor("lora", { private: false });
  assert.deepEqual(
    [lora.optimizer, lora.lr, lora.batchSize, lora.epochs],
    [TRAINING_PRESETS.lora.optimizer, TRAINING_PRESETS.lora.lr, 64, 1],
  );
  assert.equal(presetFor("side", { private: false }).optimizer, "adam");
  assert.equal(presetFor("side").optimizer, "sgd");
});
