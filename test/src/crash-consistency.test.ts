/**
 * Crash consistency: SIGKILL the coordinator (or a node) at each persistence step — via the
 * MEMARC_CRASH_AT fault-injection points of packages/federation/src/persist/crash-points.ts — then
 * restart it with --resume (a node: with the same --state) and let the run finish. After each crash:
 *   - no completed round is lost: the resumed history begins with exactly the rounds saved before it;
 *   - ε is never under-reported: the saved ledger's ε only grows, and the coordinator's final ε is at
 *     least every node's own accountant's;
 *   - the weights on disk are the last completed round's (state.json names them, their SHA-256
 *     matches, and a crash mid-write leaves the previous file in place);
 *   - a node's saved accountant is always a complete file, never a torn one.
 * Real processes, real sockets on 127.0.0.1, the logreg scheme to keep each run to seconds.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type MemarcProcess, startMemarc } from "./cli-process.js";
import { runMemarc } from "./cli-run.js";

const dir = mkdtempSync(join(tmpdir(), "memarc-crash-"));
const spawned: MemarcProcess[] = [];
after(() => {
  for (const p of spawned) p.child.kill("SIGKILL");
});

// A round dispatched before a crash and dispatched again after it is charged twice (the safe side:
// its nodes may have trained on it), so such a run may stop one round early on its budget.
const ROUNDS = 4;

before(async () => {
  const keys: string[] = [];
  for (const name of ["coord", "n0", "n1"]) {
    const r = await runMemarc([
      ...["keygen", "--out", join(dir, `${name}.key`), "--pub-out", join(dir, `${name}.pub`), "--json"],
    ]);
    assert.equal(r.code, 0, r.stderr);
    keys.push((r.json as { publicKey: string }).publicKey);
  }
  writeFileSync(join(dir, "nodes.txt"), `${keys.slice(1).join("\n")}\n`);
});

async function freePort(): Promise<number> {
  const s = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => s.once("listening", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function coordinator(state: string, port: number, extra: string[], env: Record<string, string> = {}) {
  const p = startMemarc(
    [
      ...["coordinator", "--key", join(dir, "coord.key"), "--allow", join(dir, "nodes.txt")],
      ...["--host", "127.0.0.1", "--port", String(port), "--no-dashboard", "--state", state],
      ...["--scheme", "logreg", "--test-data", "spam-assassin", "--rounds", String(ROUNDS)],
      ...["--epsilon", "8", "--lr", "0.5", "--optimizer", "sgd", "--local-steps", "10"],
      ...["--min-nodes", "2", "--wait-seconds", "90", "--round-timeout", "30", ...extra, "--json"],
    ],
    env,
  );
  spawned.push(p);
  return p;
}

function node(name: string, port: number, state: string, env: Record<string, string> = {}) {
  const i = name === "n0" ? 0 : 1;
  const p = startMemarc(
    [
      ...["client", "--coordinator", `ws://127.0.0.1:${port}`, "--coordinator-key", join(dir, "coord.pub")],
      ...["--key", join(dir, `${name}.key`), "--data", `spam-assassin:iid:${i}/2`],
      ...["--state", join(state, `node-${name}`), "--json"],
    ],
    env,
  );
  spawned.push(p);
  return p;
}

interface SavedState {
  completedRound: number;
  weightsFile?: string;
  weightsSha256?: string;
  history: { round: number; participants: string[]; epsilon: { example: number | null } }[];
  ledger: unknown;
}
const readState = (state: string) =>
  JSON.parse(readFileSync(join(state, "state.json"), "utf8")) as SavedState;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The pair on disk is consistent: state.json names a weights file that exists and matches its checksum. */
function assertWeightsConsistent(state: string, s: SavedState): void {
  if (s.completedRound === 0) return;
  assert.ok(s.weightsFile, "state.json names no weights after a completed round");
  assert.equal(s.weightsFile, `global-${String(s.completedRound).padStart(6, "0")}.weights`);
  const path = join(state, s.weightsFile);
  assert.ok(existsSync(path), `${path} missing`);
  assert.equal(sha256(readFileSync(path)), s.weightsSha256, "weights differ from the completed round's");
}

/** ε the saved ledger reports for the run so far (example level: max over nodes). */
function ledgerEpsilon(s: SavedState): number {
  const last = s.history.at(-1);
  return last?.epsilon.example ?? 0;
}

describe("crash consistency: SIGKILL at each persistence step, then --resume", { timeout: 900_000 }, () => {
  for (const point of ["ledger-before", "ledger-after", "weights-during", "weights-after", "round-end"]) {
    it(`coordinator killed at ${point} of round 2`, async () => {
      const state = join(dir, `coord-${point}`);
      const port = await freePort();
      const first = coordinator(state, port, [], { MEMARC_CRASH_AT: `${point}@2` });
      await first.waitFor(/coordinator listening/);
      const nodes = [node("n0", port, state), node("n1", port, state)];
      const crashed = await first.done;
      assert.equal(crashed.signal, "SIGKILL", first.stderr());
      const before = readState(state);
      assertWeightsConsistent(state, before);
      // Round 1 completed before the crash in every case; round 2 only when the crash followed its save.
      assert.equal(before.completedRound, point === "round-end" ? 2 : 1, first.stderr());

      const second = coordinator(state, port, ["--resume"]);
      const result = await second.done;
      const log = () => [first.stderr(), second.stderr(), ...nodes.map((n) => n.stderr())].join("\n---\n");
      assert.equal(result.code, 0, log());
      const nodeResults = await Promise.all(nodes.map((n) => n.done));
      for (const r of nodeResults) assert.equal(r.code, 0, log());

      const after = readState(state);
      const stopReason = (result.json as { stopReason: string }).stopReason;
      if (after.completedRound < ROUNDS) assert.equal(stopReason, "budget-exhausted", log());
      assert.ok(after.completedRound > before.completedRound, log());
      assertWeightsConsistent(state, after);
      // No completed round lost or rewritten.
      assert.deepEqual(after.history.slice(0, before.completedRound), before.history, log());
      // ε never goes down, and covers what every node's own accountant says it spent.
      assert.ok(ledgerEpsilon(after) >= ledgerEpsilon(before));
      const final = (result.json as { epsilon: number }).epsilon;
      for (const r of nodeResults) {
        const local = (r.json as { epsilon: number | null }).epsilon ?? 0;
        assert.ok(final >= local - 1e-9, `coordinator ε ${final} < node ε ${local}\n${log()}`);
      }
    });
  }

  for (const point of ["accountant-during", "accountant-after"]) {
    it(`node killed at ${point} of its round 2, restarted with the same --state`, async () => {
      const state = join(dir, `node-${point}`);
      const port = await freePort();
      const c = coordinator(state, port, []);
      await c.waitFor(/coordinator listening/);
      const n0 = node("n0", port, state, { MEMARC_CRASH_AT: `${point}@2` });
      const n1 = node("n1", port, state);
      const crashed = await n0.done;
      assert.equal(crashed.signal, "SIGKILL", n0.stderr());
      const accountantPath = join(state, "node-n0", "accountant.json");
      // Whole, parseable, holding round 1's 10 steps (killed mid-write) or rounds 1–2 (killed after
      // the write, before the update left): never torn, never ahead of or behind what was persisted.
      const saved = JSON.parse(readFileSync(accountantPath, "utf8")) as {
        history: { steps: number }[];
      };
      const steps = saved.history.reduce((n, e) => n + e.steps, 0);
      assert.equal(steps, point === "accountant-during" ? 10 : 20, readFileSync(accountantPath, "utf8"));
      const restarted = node("n0", port, state);
      const result = await c.done;
      const log = () => [c.stderr(), n0.stderr(), restarted.stderr(), n1.stderr()].join("\n---\n");
      assert.equal(result.code, 0, log());
      const final = (result.json as { epsilon: number }).epsilon;
      for (const n of [restarted, n1]) {
        const r = await n.done;
        assert.equal(r.code, 0, log());
        const local = (r.json as { epsilon: number | null }).epsilon ?? 0;
        assert.ok(final >= local - 1e-9, `coordinator ε ${final} < node ε ${local}\n${log()}`);
      }
      // The restarted node kept what it had spent before the crash (its accountant only grows).
      const resumed = JSON.parse(readFileSync(accountantPath, "utf8")) as { history: { steps: number }[] };
      assert.ok(resumed.history.reduce((n, e) => n + e.steps, 0) > steps, log());
    });
  }
});
