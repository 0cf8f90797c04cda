export * from "./accountant.js";
export * from "./calibrate.js";
export * from "./discrete-gaussian.js";
export * from "./lattice.js";
export * from "./math.js";
export * from "./noise.js";
export * from "./pld.js";
export * from "./rdp.js";
