#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js in packages/*, apps/*, test/) with node's test
// runner. Arguments narrow the run to paths containing any of them, e.g. `packages/privacy`.
// `--unit` leaves out test/ (the end-to-end suites: real binaries, processes, browsers), for a fast
// lane while editing: `npm run test:unit`.
// Files are passed explicitly because Node 20's `--test <dir>` would also treat every .js under a
// directory named "test" as a test file.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const unit = process.argv.includes("--unit");
const filters = process.argv.slice(2).filter((a) => a !== "--unit");

function walk(dir, acc) {
  if (!existsSync(dir)) return acc;
  for (const name of readdirSync(dir)) {
    if (name === "node_modules") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, acc);
    else if (name.endsWith(".test.js")) acc.push(p);
  }
  return acc;
}

const roots = [];
for (const group of ["packages", "apps"]) {
  for (const name of readdirSync(join(root, group))) roots.push(join(root, group, name, "dist"));
}
if (!unit) roots.push(join(root, "test", "dist"));
let files = roots
  .flatMap((d) => walk(d, []))
  .map((f) => relative(root, f))
  .sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error("run-tests: no test files found (did `tsc -b` run?)");
  process.exit(1);
}
// One test file at a time: the machine has two cores and many tests are compute-heavy.
// --test-force-exit: a file's process exits once its tests have finished instead of when its event
// loop drains, where Node can deadlock (NodePlatform::DrainTasks, nodejs/node#54918; seen once here:
// a test file hung for good after all its tests had passed). Leaked handles are tested for
// explicitly where they matter (a child program must exit by itself, parallel.test.ts).
// Every temporary file and directory the tests (and the programs they start) make goes under one
// fresh TMPDIR, removed when the run ends, pass or fail: os.tmpdir() honours TMPDIR, so no test has
// to clean up after itself for the machine's /tmp to stay clean.
const scratch = mkdtempSync(join(tmpdir(), "memarc-tests-"));
let res;
try {
  res = spawnSync(process.execPath, ["--test", "--test-concurrency=1", "--test-force-exit", ...files], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, MEMARC_BACKEND: process.env.MEMARC_BACKEND ?? "wasm", TMPDIR: scratch },
  });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(res.status ?? 1);
