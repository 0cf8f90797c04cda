export { BACKBONE_FILES, BACKBONE_FILES_BY_ARCHITECTURE } from "./backbone-files.js";
export { type BertConfig, bertConfigFromHF } from "./bert/config.js";
export { bertFromFiles, bertToFiles } from "./bert/hf.js";
export { Bert } from "./bert/model.js";
export { geluErf, geluTanh } from "./core/activations.js";
export { attentionBias } from "./core/attention.js";
export type {
  Architecture,
  BackboneConfig,
  BackboneModel,
  BlockLayout,
  BlockRef,
  ForwardOutput,
  LinearNames,
  ParamMap,
} from "./core/backbone.js";
export { ModelError } from "./core/errors.js";
export { crossEntropy, meanPool } from "./core/losses.js";
export type { Site } from "./core/sites.js";
export { type Lookup, Tracer, type TracerOptions } from "./core/tracer.js";
export type { GPT2Config } from "./gpt2/config.js";
export { gpt2FromFiles, gpt2ToFiles } from "./gpt2/hf.js";
export { GPT2 } from "./gpt2/model.js";
export { ARCHITECTURES, architectureOf, backboneFromFiles } from "./load-backbone.js";
export { f16ArrayToF32, f32ArrayToF16 } from "./safetensors/half.js";
export {
  type Dtype,
  type NamedTensor,
  readSafetensors,
  SafetensorsError,
  type SafetensorsFile,
  writeSafetensors,
} from "./safetensors/safetensors.js";
export { BaseScheme } from "./schemes/base.js";
export { FullScheme } from "./schemes/full.js";
export { type LoraOptions, LoraScheme } from "./schemes/lora.js";
export { type ReversibleOptions, ReversibleScheme } from "./schemes/reversible.js";
export { type SideOptions, SideScheme } from "./schemes/side.js";
export {
  disposeSideFeatures,
  featuresFromArrays,
  featuresToArrays,
  type SideFeatures,
} from "./schemes/side-features.js";
export type {
  Batch,
  ClippedGradients,
  Objective,
  PlainGradients,
  Scheme,
  SchemeKind,
  SchemeOptions,
  StepOptions,
} from "./schemes/types.js";
