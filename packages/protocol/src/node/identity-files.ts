/** Key files and allow-list files (Node only: a browser node keeps its key in IndexedDB). */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  openSync,
  readFileSync,
  type Stats,
  statSync,
  writeSync,
} from "node:fs";
import { AllowListError, KeyFileError } from "../errors.js";
import {
  AllowList,
  type Identity,
  identityFromKeyFile,
  identityToKeyFile,
  parsePublicKey,
} from "../identity.js";

/**
 * Write a key file readable only by its owner. O_EXCL makes "refuse to overwrite" race-free; with
 * `force` an existing file is replaced (and its mode reset to 0600).
 */
export function writeKeyFile(path: string, id: Identity, opts: { force?: boolean } = {}): void {
  const flags = constants.O_WRONLY | constants.O_CREAT | (opts.force ? constants.O_TRUNC : constants.O_EXCL);
  let fd: number;
  try {
    fd = openSync(path, flags, 0o600);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EEXIST")
      throw new KeyFileError(
        `${path} already exists; refusing to overwrite a key (use --force to replace it)`,
        {
          path,
        },
      );
    throw new KeyFileError(`cannot write key file ${path}: ${e.message}`, { path });
  }
  try {
    // An existing file keeps its old mode on O_TRUNC; tighten it explicitly.
    if ((fstatSync(fd).mode & 0o777) !== 0o600) fchmodSync(fd, 0o600);
    writeSync(fd, `${JSON.stringify(identityToKeyFile(id), null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Load a key file. Refuses a file other users can read (mode & 0o077, as ssh does), and any corrupt
 * content: bad JSON, wrong key lengths, or a public key that does not belong to the secret key.
 */
export function loadKeyFile(path: string): Identity {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    throw new KeyFileError(`cannot read key file ${path}: ${(err as Error).message}`, { path });
  }
  if (!st.isFile()) throw new KeyFileError(`${path} is not a regular file`, { path });
  if (st.size > 4096) throw new KeyFileError(`key file ${path} is corrupt: too large`, { path });
  const text = readFileSync(path, "utf8");
  // The commonest mix-up: the .pub file (keygen --pub-out) where the secret key file belongs. Said
  // before the mode check, which a world-readable .pub would otherwise fail with a misleading hint.
  if (parsePublicKey(text.trim()))
    throw new KeyFileError(
      `${path} holds only a public key (a .pub file, as written by keygen --pub-out); give the secret key file written by keygen --out`,
      { path },
    );
  if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
    throw new KeyFileError(
      `key file ${path} is accessible by other users (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
      { path, mode: st.mode & 0o777 },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new KeyFileError(`key file ${path} is corrupt: not JSON (${(err as Error).message})`, { path });
  }
  return identityFromKeyFile(parsed, path);
}

/** Read an allow-list file (AllowList.parse's format). */
export function loadAllowList(path: string): AllowList {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new AllowListError(`cannot read allow-list ${path}: ${(err as Error).message}`, { path });
  }
  return AllowList.parse(text, path);
}
