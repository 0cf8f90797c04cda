/** A user's data file read from disk (browsers parse the File's text with parseUserData). */
import { readFileSync, statSync } from "node:fs";
import { UserDataError } from "../errors.js";
import {
  DEFAULT_MAX_FILE_BYTES,
  formatFromName,
  parseUserData,
  type UserData,
  type UserDataOptions,
} from "../user-data.js";

/** Read and parse a user's JSONL or CSV file, enforcing the size limit before reading. */
export function loadUserData(path: string, options: UserDataOptions = {}): UserData {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const format = options.format ?? formatFromName(path);
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new UserDataError("E_DATA_IO", path, undefined, `cannot read file: ${(e as Error).message}`);
  }
  if (size > maxFileBytes) {
    throw new UserDataError(
      "E_DATA_LIMIT",
      path,
      undefined,
      `file is ${size} bytes, more than the limit of ${maxFileBytes}`,
    );
  }
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (e) {
    throw new UserDataError("E_DATA_IO", path, undefined, `cannot read file: ${(e as Error).message}`);
  }
  return parseUserData(path, content, { ...options, format });
}
