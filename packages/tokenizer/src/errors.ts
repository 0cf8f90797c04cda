/** Stable machine-readable codes for everything the tokenizer can reject. */
export type TokenizerErrorCode =
  | "E_TOKENIZER_BAD_VOCAB"
  | "E_TOKENIZER_BAD_MERGES"
  | "E_TOKENIZER_UNKNOWN_ID"
  | "E_TOKENIZER_BAD_OPTIONS"
  | "E_TOKENIZER_IO";

export class TokenizerError extends Error {
  readonly code: TokenizerErrorCode;
  constructor(code: TokenizerErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = "TokenizerError";
  }
}
