export {
  type DatasetEntry,
  datasetByName,
  datasetNames,
  getSpamAssassin,
  type SplitDataset,
  type SplitDatasetOptions,
} from "./datasets.js";
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
export {
  loadPretrainCorpus,
  type PretrainCorpus,
  type PretrainOptions,
  type PretrainSource,
} from "./pretrain.js";
export { createSeededRng, DEFAULT_SEED, type SeededRng } from "./rng.js";
export {
  DEFAULT_MAX_CHARS,
  type DecodeStats,
  type EmailExample,
  loadSpamAssassin,
  SPAM_ASSASSIN_CLASSES,
  SPAM_ASSASSIN_GROUPS,
  type SpamAssassinCorpus,
  type SpamAssassinGroup,
} from "./spam-assassin.js";
export { type IndexSplit, type SplitOptions, stratifiedSplit } from "./split.js";
export type { Dataset, Example } from "./types.js";
export {
  loadUserData,
  parseUserData,
  type UserData,
  type UserDataFormat,
  type UserDataOptions,
  userDataToDataset,
} from "./user-data.js";
