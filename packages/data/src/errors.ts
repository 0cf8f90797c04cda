/** Stable machine-readable codes for everything the data package can reject. */
export type DataErrorCode =
  | "E_DATA_UNKNOWN_DATASET"
  | "E_DATA_BAD_PARTITION_SPEC"
  | "E_DATA_PARTITION"
  | "E_DATA_BAD_OPTIONS"
  | "E_DATA_FORMAT"
  | "E_DATA_LIMIT"
  | "E_DATA_IO";

export class DataError extends Error {
  readonly code: DataErrorCode;
  constructor(code: DataErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = "DataError";
  }
}

/**
 * A problem in a user's data file. The message always names the file and (when known) the
 * 1-based line, so a person can open the file and fix it.
 */
export class UserDataError extends DataError {
  readonly file: string;
  readonly line: number | undefined;
  readonly problem: string;
  constructor(
    code: "E_DATA_FORMAT" | "E_DATA_LIMIT" | "E_DATA_IO",
    file: string,
    line: number | undefined,
    problem: string,
  ) {
    super(code, line === undefined ? `${file}: ${problem}` : `${file}:${line}: ${problem}`);
    this.file = file;
    this.line = line;
    this.problem = problem;
    this.name = "UserDataError";
  }
}
