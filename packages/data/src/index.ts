export { DataError, type DataErrorCode, UserDataError } from "./errors.js";
export { normalizeText, truncate } from "./mail/clean.js";
export { decodeEntities, htmlToText } from "./mail/html.js";
export type { PartCounts } from "./mail/mime.js";
export type { DecodeProblem } from "./mail/problems.js";
export {
  type DirichletOptions,
  dirichlet,
  iid,
  labelSkew,
  natural,
  type Partition,
  type PartitionOptions,
  type PartitionSpec,
  parsePartitionSpec,
  partition,
} from "./partition.js";
export { createSeededRng, DEFAULT_SEED, type SeededRng } from "./rng.js";
export { type IndexSplit, type SplitOptions, stratifiedSplit } from "./split.js";
export { type Dataset, DEFAULT_MAX_CHARS, type Example } from "./types.js";
export {
  DEFAULT_MAX_FILE_BYTES,
  MIN_NODE_EXAMPLES,
  parseUserData,
  type UserData,
  type UserDataFormat,
  type UserDataOptions,
  userDataToDataset,
} from "./user-data.js";
