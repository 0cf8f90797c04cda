export * from "./dashboard/server.js";
export * from "./logger.js";
export * from "./metrics.js";
export * from "./monitor.js";
export * from "./pool.js";
