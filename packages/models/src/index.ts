export * from "./safetensors/half.js";
export * from "./safetensors/safetensors.js";
