/**
 * Long-running `memarc` processes for end-to-end tests: start one, wait for a line on stderr,
 * kill it, and collect its exit code and the --json result on its last stdout line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { MEMARC_BIN } from "./cli-run.js";

export interface MemarcProcess {
  child: ChildProcess;
  stderr(): string;
  stdout(): string;
  /** Resolves with the first match of `re` in stderr (rejects after timeoutMs or on exit). */
  waitFor(re: RegExp, timeoutMs?: number, stream?: "stderr" | "stdout"): Promise<RegExpMatchArray>;
  /** Exit code, stdout and the parsed last stdout line. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; json: unknown }>;
}

export function startMemarc(args: string[], env: Record<string, string> = {}): MemarcProcess {
  const child = spawn(process.execPath, [MEMARC_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const watchers = new Set<() => void>();
  child.stdout!.on("data", (d) => {
    out += d;
    for (const w of [...watchers]) w();
  });
  child.stderr!.on("data", (d) => {
    err += d;
    for (const w of [...watchers]) w();
  });
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    json: unknown;
  }>((resolve) => {
    child.on("close", (code, signal) => {
      for (const w of [...watchers]) w();
      let json: unknown;
      try {
        json = JSON.parse(out.trimEnd().split("\n").pop() ?? "");
      } catch {
        json = undefined;
      }
      resolve({ code, signal, stdout: out, json });
    });
  });
  let exited = false;
  void done.then(() => {
    exited = true;
  });
  return {
    child,
    stderr: () => err,
    stdout: () => out,
    done,
    waitFor(re, timeoutMs = 60_000, stream = "stderr") {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = (stream === "stdout" ? out : err).match(re);
          if (m) {
            cleanup();
            resolve(m);
          } else if (exited) {
            cleanup();
            reject(new Error(`process exited before ${re}:\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${re}:\n${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
  };
}
