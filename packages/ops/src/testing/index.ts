export * from "./coordinator-run.js";
export * from "./logistic-pool.js";
