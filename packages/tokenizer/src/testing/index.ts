/** Test support shared with the packages above: a reproducible (not private) random source. */
export { insecureSeededUniformForTests } from "./seeded-uniform.js";
