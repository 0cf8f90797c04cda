/** `@memarc/train/node`: backbone directories, saved model directories, GPT-2 pretraining. Browsers load `.` only. */

export {
  type LoadedModel,
  loadModelDir,
  type ModelManifest,
  type ModelPrivacy,
  readModelManifest,
  type SaveModelOptions,
  saveModelDir,
} from "../finetune/model-dir.js";
export { type PretrainOptions, type PretrainRecord, pretrain } from "../pretrain/pretrain.js";
export { loadBackbone } from "./backbone-dir.js";
