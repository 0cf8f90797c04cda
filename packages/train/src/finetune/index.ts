export * from "./backbone.js";
export * from "./feature-cache.js";
export * from "./model-dir.js";
export * from "./peak.js";
export * from "./report.js";
export * from "./runner.js";
export * from "./schemes.js";
export * from "./split.js";
