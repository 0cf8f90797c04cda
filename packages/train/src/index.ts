export * from "./baselines/hashed-features.js";
export * from "./baselines/logistic-regression.js";
export * from "./dp-sgd.js";
export * from "./model.js";
export * from "./optimizers.js";
export * from "./schedule.js";
export * from "./secure-random.js";
