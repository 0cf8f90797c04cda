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

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a child process to its end, collecting its output; killed (and rejected) after `timeoutMs`. */
export function runProcess(
  cmd: string,
  args: string[],
  o: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: o.env,
      ...(o.cwd ? { cwd: o.cwd } : {}),
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
      reject(new Error(`${cmd} ${args.join(" ")} timed out after ${o.timeoutMs} ms\n${stderr.slice(-4000)}`));
    }, o.timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function runMemarc(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<RunResult> {
  const r = await runProcess(process.execPath, [MEMARC_BIN, ...args], {
    env: { ...process.env, ...env },
    timeoutMs,
  });
  const last = r.stdout.trimEnd().split("\n").pop() ?? "";
  let json: unknown;
  try {
    json = JSON.parse(last);
  } catch {
    json = undefined;
  }
  return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr, json };
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
