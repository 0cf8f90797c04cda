/**
 * Fault injection for the crash-consistency suite (test/src/crash-consistency.test.ts). When the
 * environment variable MEMARC_CRASH_AT is `<point>@<n>`, the n-th time the process reaches `<point>`
 * it sends itself SIGKILL — no handlers, no flush, no cleanup, as a power cut or the OOM killer
 * would. Unset (always, in production), a crash point costs one comparison.
 *
 * Points, in the order a coordinator's round reaches them:
 *   ledger-before    round's privacy events recorded in memory, state.json not yet written
 *   ledger-after     state.json with the charged ledger durable, no task dispatched yet
 *   weights-during   half of the new global weights written to their temporary file
 *   weights-after    new weights durable, state.json naming them not yet written
 *   round-end        the round's final state.json durable (between rounds)
 * and on a node:
 *   accountant-during  half of the node's accountant written to its temporary file
 *   accountant-after   the accountant durable, the update not yet sent
 */
export const CRASH_POINTS = [
  "ledger-before",
  "ledger-after",
  "weights-during",
  "weights-after",
  "round-end",
  "accountant-during",
  "accountant-after",
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** Read lazily and through globalThis: a browser node has no `process` (and no crash suite). */
let spec: { point: CrashPoint; n: number } | null | undefined;
let reached = 0;

function parse(value: string | undefined): { point: CrashPoint; n: number } | null {
  if (!value) return null;
  const m = /^([a-z-]+)@(\d+)$/.exec(value);
  if (!m || !(CRASH_POINTS as readonly string[]).includes(m[1]!))
    throw new Error(`MEMARC_CRASH_AT: expected <point>@<n> with point one of ${CRASH_POINTS.join(", ")}`);
  return { point: m[1] as CrashPoint, n: Number(m[2]) };
}

export function crashPoint(point: CrashPoint): void {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  spec ??= parse(proc?.env?.MEMARC_CRASH_AT);
  if (spec === null || spec.point !== point) return;
  reached++;
  if (reached === spec.n) proc?.kill(proc.pid, "SIGKILL");
}
