/** `@memarc/data/node`: the bundled corpora (SpamAssassin, pretraining text) and users' files on disk. Browsers load `.` only. */
export {
  type DatasetEntry,
  datasetByName,
  datasetNames,
  getSpamAssassin,
  type SplitDataset,
  type SplitDatasetOptions,
} from "../datasets.js";
export {
  loadPretrainCorpus,
  type PretrainCorpus,
  type PretrainOptions,
  type PretrainSource,
} from "../pretrain.js";
export {
  type DecodeStats,
  type EmailExample,
  loadSpamAssassin,
  SPAM_ASSASSIN_CLASSES,
  SPAM_ASSASSIN_GROUPS,
  type SpamAssassinCorpus,
  type SpamAssassinGroup,
} from "../spam-assassin.js";
export { loadUserData } from "./user-data-file.js";
