/**
 * The README's commands and the numbers it states beside them, read from the README itself, so a
 * test runs exactly what a new user copies and checks the number a new user is promised.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));

export function readme(): string {
  return readFileSync(README, "utf8");
}

/**
 * The arguments of the first `npx memarc <command> …` in the README — a line of a code block
 * (continuation lines joined, `# comments` dropped) or an inline code span — that contains every
 * string in `mustContain`.
 */
export function readmeCommand(command: string, mustContain: string[] = []): string[] {
  const text = readme();
  const lines = text
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim());
  const spans = [...text.replace(/\s+/g, " ").matchAll(/`(npx memarc [^`]+)`/g)].map((m) => m[1]!);
  const found = [...lines, ...spans].find(
    (l) => l.startsWith(`npx memarc ${command} `) && mustContain.every((s) => l.includes(s)),
  );
  if (!found) throw new Error(`README has no "npx memarc ${command}" with ${mustContain.join(", ")}`);
  return found.split(/\s+/).slice(2);
}

/** A stated accuracy "M % (L–H % …" after `anchor` in the README, as fractions. */
export function readmeAccuracy(anchor: string): { mean: number; low: number; high: number } {
  const text = readme().replace(/\s+/g, " ");
  const at = text.indexOf(anchor);
  if (at < 0) throw new Error(`README does not contain "${anchor}"`);
  const m = /([\d.]+) % \(([\d.]+)–([\d.]+) %/.exec(text.slice(at, at + 300));
  if (!m) throw new Error(`README states no "M % (L–H %" accuracy after "${anchor}"`);
  return { mean: Number(m[1]) / 100, low: Number(m[2]) / 100, high: Number(m[3]) / 100 };
}

/**
 * Margin around a stated range for one new run: DP noise comes from a CSPRNG, so a run is a fresh
 * draw; 1.5 points is several times the spread of three runs, and far from the majority class
 * (69.9 %) that a broken default reaches.
 */
export const RUN_MARGIN = 0.015;
