/**
 * What `memarc coordinator` exposes to its operator while it runs, read over real HTTP from the real
 * binary: friendly node names from the --allow file's comments (dashboard JSON and the join log),
 * and the Prometheus metrics (run gauges, renamed byte counters, the process's default metrics).
 * The coordinator waits for a second node that never comes, so no training time is spent.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type MemarcProcess, startMemarc } from "./cli-process.js";
import { keygen } from "./cli-run.js";

const dir = mkdtempSync(join(tmpdir(), "memarc-monitoring-"));
const spawned: MemarcProcess[] = [];

before(async () => {
  for (const name of ["coord", "n0"]) await keygen(dir, name);
});
after(() => {
  for (const p of spawned) p.child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function start(args: string[]): MemarcProcess {
  const p = startMemarc(args);
  spawned.push(p);
  return p;
}

/** Prometheus text → {"name{labels}": value}. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

interface State {
  running: boolean;
  budgetUsed: { epsilon: number; budget: number; fraction: number };
  nodes: { id: string; name: string | null; connected: boolean }[];
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("memarc coordinator monitoring", { timeout: 180_000 }, () => {
  it("names allow-listed nodes from their comments and serves the run and process metrics", async () => {
    const n0 = readFileSync(join(dir, "n0.pub"), "utf8").trim();
    writeFileSync(join(dir, "nodes.txt"), `# MemArc allow-list\n${n0}   # hospital-a\n`);
    const coordinator = start([
      "coordinator",
      "--key",
      join(dir, "coord.key"),
      "--allow",
      join(dir, "nodes.txt"),
      "--scheme",
      "logreg",
      "--test-data",
      "spam-assassin",
      "--port",
      "0",
      "--dashboard-port",
      "0",
      "--min-nodes",
      "2",
      "--wait-seconds",
      "150",
      "--state",
      join(dir, "state"),
      "--log-level",
      "info",
      "--json",
    ]);
    const dashboard = (await coordinator.waitFor(/dashboard: (http:\/\/\S+?\/)\s/, 120_000))[1]!;
    const url = (await coordinator.waitFor(/coordinator listening on (\S+)/))[1]!;
    const metrics = async () => samples(await (await fetch(`${dashboard}metrics`)).text());

    const before = await metrics();
    assert.equal(before.get("memarc_current_round"), 0);
    assert.equal(before.get("memarc_nodes_connected"), 0);
    assert.equal(before.get("memarc_received_bytes_total"), 0);
    assert.equal(before.get("memarc_sent_bytes_total"), 0);
    assert.equal(before.has("memarc_bytes_received_total"), false);
    assert.ok(before.get("process_resident_memory_bytes")! > 1e6);
    assert.ok(before.has("nodejs_heap_size_used_bytes"));
    assert.ok(before.has("process_cpu_user_seconds_total"));

    start([
      "client",
      "--coordinator",
      url,
      "--coordinator-key",
      join(dir, "coord.pub"),
      "--key",
      join(dir, "n0.key"),
      "--data",
      "spam-assassin:iid:0/2",
      "--state",
      join(dir, "state-n0"),
    ]);
    const state = await until("n0 on the dashboard", async () => {
      const s = (await (await fetch(`${dashboard}api/state`)).json()) as State;
      return s.nodes.some((n) => n.connected) ? s : undefined;
    });
    assert.deepEqual(
      state.nodes.map((n) => [n.id, n.name]),
      [[n0, "hospital-a"]],
    );
    assert.equal(state.running, true);
    assert.deepEqual(state.budgetUsed, { epsilon: 0, budget: 8, fraction: 0 });

    const during = await metrics();
    assert.equal(during.get("memarc_nodes_connected"), 1);
    assert.equal(during.get("memarc_current_round"), 0); // still waiting for the second node
    // The join is logged with the node's name beside its key.
    const joined = coordinator
      .stderr()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { event?: string; node?: string; name?: string })
      .find((l) => l.event === "node joined");
    assert.equal(joined?.node, n0);
    assert.equal(joined?.name, "hospital-a");

    coordinator.child.kill("SIGINT");
    await coordinator.done;
  });
});
