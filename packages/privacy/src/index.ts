export * from "./math.js";
export * from "./rdp.js";
