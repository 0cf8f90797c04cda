export * from "./server-optimizer.js";
export * from "./strategy/adaptive-clip.js";
export * from "./strategy/fedavg.js";
export * from "./strategy/metrics.js";
export * from "./strategy/types.js";
export * from "./strategy/user-level-dp.js";
export * from "./weights.js";
