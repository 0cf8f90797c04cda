/** Run the real `memarc` binary as a child process, the way users and scripts do. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const MEMARC_BIN = fileURLToPath(new URL("../../apps/cli/bin/memarc.js", import.meta.url));

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Parsed last line of stdout (the --json contract), or undefined. */
  json: unknown;
}

export function runMemarc(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MEMARC_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`memarc ${args.join(" ")} timed out after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const last = stdout.trimEnd().split("\n").pop() ?? "";
      let json: unknown;
      try {
        json = JSON.parse(last);
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, stdout, stderr, json });
    });
  });
}

/**
 * `memarc keygen` into DIR/NAME.key and DIR/NAME.pub, as an operator would run it; resolves to the
 * public key (base64).
 */
export async function keygen(dir: string, name: string): Promise<string> {
  const r = await runMemarc([
    ...["keygen", "--out", join(dir, `${name}.key`), "--pub-out", join(dir, `${name}.pub`), "--json"],
  ]);
  if (r.code !== 0) throw new Error(`memarc keygen ${name} failed: ${r.stderr}`);
  return (r.json as { publicKey: string }).publicKey;
}
