export * from "./errors.js";
export * from "./mail/clean.js";
export * from "./mail/decode.js";
export { decodeEntities, htmlToText } from "./mail/html.js";
export type { PartCounts } from "./mail/mime.js";
export type { DecodeProblem } from "./mail/problems.js";
export * from "./rng.js";
export * from "./spam-assassin.js";
export * from "./types.js";
