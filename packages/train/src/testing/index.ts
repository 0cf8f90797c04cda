/** Test support for train and the packages above it (`@memarc/train/testing`); none of it is private. */

// Passed on from the tokenizer so packages above train use the same generator without depending on
// the tokenizer themselves.
export { insecureSeededUniformForTests } from "@memarc/tokenizer/testing";
export { insecureSeededTrainingRandomForTests } from "./insecure-random.js";
