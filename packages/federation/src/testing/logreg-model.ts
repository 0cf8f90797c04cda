/**
 * A small, fast LocalModel for tests: the production logreg scheme (hashed bag-of-words logistic
 * regression from @memarc/train) behind the production FinetuneLocalModel.
 */
import { createScheme, type LabelledTexts } from "@memarc/train";
import { FinetuneLocalModel } from "../client/finetune-local-model.js";

export function logregLocalModel(
  train: LabelledTexts,
  heldOut: LabelledTexts,
  numClasses: number,
  hashDim: number,
) {
  return new FinetuneLocalModel(createScheme("logreg", null, { numClasses, hashDim }), train, heldOut, {
    contextLength: 1,
  });
}
