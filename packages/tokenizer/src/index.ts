export { type BatchEncoding, type EncodeBatchOptions, encodeBatchWith } from "./batch.js";
export { bertNormalize, bertPreTokenize, bertWordRegExp } from "./bert-pretokenize.js";
export {
  BpeTokenizer,
  ENDOFTEXT,
  type EncodeOptions,
  type MergeSpec,
  type TokenizerOptions,
} from "./bpe-tokenizer.js";
export { BYTE_TO_CHAR, bytesToToken, CHAR_TO_BYTE, GPT2_BYTE_ORDER, tokenToBytes } from "./byte-unicode.js";
export { TokenizerError, type TokenizerErrorCode } from "./errors.js";
export {
  MERGES_HEADER,
  parseMergesTxt,
  parseVocabJson,
  serializeMergesTxt,
  serializeVocabJson,
} from "./gpt2-format.js";
export { GPT2_PATTERN_SOURCE, pretokenize } from "./pretokenize.js";
export {
  ROBERTA_SPECIALS,
  type RobertaBatchEncoding,
  type RobertaBatchOptions,
  RobertaTokenizer,
} from "./roberta.js";
export { type TrainBpeOptions, type TrainedBpe, trainBpe, trainBpeMerges } from "./trainer.js";
export {
  parseVocabTxt,
  type WordPieceBatchEncoding,
  type WordPieceBatchOptions,
  type WordPieceDecodeOptions,
  type WordPieceEncodeOptions,
  type WordPieceOptions,
  type WordPieceSpecialOptions,
  WordPieceTokenizer,
} from "./wordpiece.js";
