/**
 * Crash-safe file replacement: write a temporary file in the same directory, fsync it, rename it
 * over the target (atomic on POSIX), then fsync the directory so the rename itself is durable.
 * A reader therefore sees either the old complete file or the new complete file, never a torn one —
 * which is what lets the coordinator promise that ε already spent is never lost.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { type CrashPoint, crashPoint } from "../persist/crash-points.js";

/**
 * `duringWrite` is a crash point (crash-points.ts) reached with half the bytes in the temporary file,
 * for the crash-consistency suite.
 */
export function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  o: { duringWrite?: CrashPoint } = {},
): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    let off = 0;
    if (o.duringWrite) {
      const half = bytes.length >> 1;
      while (off < half) off += writeSync(fd, bytes, off, half - off);
      fsyncSync(fd);
      crashPoint(o.duringWrite);
    }
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dir);
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
