export * from "./backend.js";
export * from "./custom.js";
export * from "./embedding.js";
export * from "./matmul.js";
export * from "./memory.js";
