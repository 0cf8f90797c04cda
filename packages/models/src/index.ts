export * from "./core/errors.js";
export * from "./gpt2/config.js";
export * from "./gpt2/hf.js";
export * from "./gpt2/model.js";
export * from "./gpt2/params.js";
export * from "./safetensors/half.js";
export * from "./safetensors/safetensors.js";
