/**
 * The federated product end to end, as separate processes on 127.0.0.1: `memarc keygen`,
 * `memarc coordinator`, several `memarc client`s. The logreg scheme keeps each run to seconds; the
 * protocol, ledger, persistence and DP paths are the same as for the language-model schemes.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type MemarcProcess, startMemarc } from "./cli-process.js";
import { keygen as keygenIn, runMemarc } from "./cli-run.js";
import { saveTinyGpt2 } from "./tiny-gpt2.js";

const dir = mkdtempSync(join(tmpdir(), "memarc-fed-cli-"));
const spawned: MemarcProcess[] = [];
after(() => {
  for (const p of spawned) p.child.kill("SIGKILL");
});

const keygen = (name: string) => keygenIn(dir, name);

const COMMON = [
  "--scheme",
  "logreg",
  "--test-data",
  "spam-assassin",
  "--lr",
  "0.5",
  "--optimizer",
  "sgd",
  "--local-steps",
  "10",
];

function coordinator(args: string[], state: string): MemarcProcess {
  const p = startMemarc([
    "coordinator",
    "--key",
    join(dir, "coord.key"),
    "--allow",
    join(dir, "nodes.txt"),
    "--port",
    "0",
    "--no-dashboard",
    "--state",
    state,
    "--wait-seconds",
    "60",
    "--min-nodes",
    "3",
    ...COMMON,
    ...args,
    "--json",
  ]);
  spawned.push(p);
  return p;
}

/** A node process. Its accountant lives in state-<run>-<name>: each run is a fresh deployment. */
function client(
  name: string,
  url: string,
  data: string,
  extra: string[] = [],
  run = "default",
): MemarcProcess {
  const p = startMemarc([
    "client",
    "--coordinator",
    url,
    "--coordinator-key",
    join(dir, "coord.pub"),
    "--key",
    join(dir, `${name}.key`),
    "--data",
    data,
    "--state",
    join(dir, `state-${run}-${name}`),
    ...extra,
    "--json",
  ]);
  spawned.push(p);
  return p;
}

let ready: Promise<void> | undefined;
function setup(): Promise<void> {
  ready ??= (async () => {
    await keygen("coord");
    const nodes = await Promise.all(["n0", "n1", "n2", "stranger"].map(keygen));
    writeFileSync(join(dir, "nodes.txt"), `# allowed nodes\n${nodes.slice(0, 3).join("\n")}\n`);
  })();
  return ready;
}

async function runFederation(extra: string[], state: string) {
  const c = coordinator(extra, state);
  const url = (await c.waitFor(/coordinator listening on (\S+)/))[1]!;
  const nodes = ["n0", "n1", "n2"].map((n, i) => client(n, url, `spam-assassin:iid:${i}/3`, [], state));
  const result = await c.done;
  const nodeResults = await Promise.all(nodes.map((n) => n.done));
  return {
    c,
    nodes,
    result,
    nodeResults,
    log: () => [c.stderr(), ...nodes.map((n) => n.stderr())].join("\n---\n"),
  };
}

describe("federated training over the CLI", { timeout: 600_000 }, () => {
  it("example-level: 3 nodes, 3 rounds complete; nodes and coordinator agree on ε", async () => {
    await setup();
    const modelOut = join(dir, "model-example");
    const { result, nodeResults, log } = await runFederation(
      ["--rounds", "3", "--epsilon", "8", "--local-steps", "40", "--out", modelOut],
      join(dir, "run-example"),
    );
    assert.equal(result.code, 0, log());
    const j = result.json as {
      rounds: number;
      epsilon: number;
      sampleEpsilon: number;
      userEpsilon: null;
      testAccuracy: number;
    };
    assert.equal(j.rounds, 3, log());
    assert.ok(j.epsilon > 0 && j.epsilon <= 8, `ε ${j.epsilon}`);
    assert.equal(j.userEpsilon, null);
    // The majority class (ham) is 69.9% of the test split: require clearly better than that.
    assert.ok(j.testAccuracy > 0.85, `accuracy ${j.testAccuracy}`);
    for (const n of nodeResults) {
      assert.equal(n.code, 0);
      const nj = n.json as { reason: string; roundsTrained: number; epsilon: number };
      assert.equal(nj.reason, "completed");
      assert.equal(nj.roundsTrained, 3);
      assert.ok(nj.epsilon <= j.epsilon + 1e-9);
    }
    // The exported global model is the one the coordinator evaluated: same accuracy, same ε.
    const ev = await runMemarc(["eval", "--model", modelOut, "--data", "spam-assassin", "--json"]);
    assert.equal(ev.code, 0, ev.stderr);
    const e = ev.json as {
      accuracy: number;
      privacy: { epsilon: number; unit: string; federated: { rounds: number } };
    };
    assert.equal(e.accuracy, j.testAccuracy);
    assert.equal(e.privacy.epsilon, j.epsilon);
    assert.equal(e.privacy.unit, "example");
    assert.equal(e.privacy.federated.rounds, 3);
  });

  it("user-level: DP-FedAvg governs the budget and both guarantees are reported", async () => {
    await setup();
    const { result } = await runFederation(
      [
        "--rounds",
        "2",
        "--epsilon",
        "20",
        "--privacy-unit",
        "user",
        "--local-noise",
        "1",
        "--update-clip",
        "1",
      ],
      join(dir, "run-user"),
    );
    assert.equal(result.code, 0);
    const j = result.json as {
      privacyUnit: string;
      epsilon: number;
      userEpsilon: number;
      sampleEpsilon: number;
    };
    assert.equal(j.privacyUnit, "user");
    assert.equal(j.epsilon, j.userEpsilon);
    assert.ok(j.userEpsilon > 0 && j.userEpsilon <= 20);
    assert.ok(j.sampleEpsilon > 0);
  });

  it("a coordinator killed mid-run resumes with the same ε spent and continues from the next round", async () => {
    await setup();
    const state = join(dir, "run-resume");
    const c1 = coordinator(["--rounds", "3", "--epsilon", "6"], state);
    const url = (await c1.waitFor(/coordinator listening on (\S+)/))[1]!;
    const port = new URL(url).port;
    const nodes = ["n0", "n1", "n2"].map((n, i) => client(n, url, `spam-assassin:iid:${i}/3`, [], "resume"));
    await c1.waitFor(/round 1\/3: 3 update\(s\)/, 120_000);
    c1.child.kill("SIGKILL");
    await c1.done;
    const saved = JSON.parse(readFileSync(join(state, "state.json"), "utf8")) as {
      completedRound: number;
      history: { epsilon: { example: number } }[];
    };
    assert.ok(saved.completedRound >= 1);
    const spent = saved.history.at(-1)!.epsilon.example;

    // Same port, so the nodes' reconnect-with-backoff finds it again.
    const c2 = coordinator(["--rounds", "3", "--epsilon", "6", "--resume", "--port", port], state);
    const done = await c2.done;
    const nodeResults = await Promise.all(nodes.map((n) => n.done));
    assert.equal(done.code, 0, c2.stderr());
    const j = done.json as { rounds: number; epsilon: number };
    assert.equal(j.rounds, 3);
    assert.ok(j.epsilon > spent, "ε keeps composing after the resume");
    assert.match(c2.stderr(), new RegExp(`round ${saved.completedRound + 1}/3: training`));
    assert.doesNotMatch(c2.stderr(), /round 1\/3: training/);
    for (const n of nodeResults) assert.equal(n.code, 0);
  });

  it("refuses a node that is not in the allow-list", async () => {
    await setup();
    const c = coordinator(
      ["--rounds", "1", "--min-nodes", "1", "--wait-seconds", "20"],
      join(dir, "run-allow"),
    );
    const url = (await c.waitFor(/coordinator listening on (\S+)/))[1]!;
    const stranger = client("stranger", url, "spam-assassin:iid:0/3");
    const s = await stranger.done;
    assert.notEqual(s.code, 0);
    assert.equal((s.json as { error: { code: string } }).error.code, "E_NOT_ADMITTED");
    const ok = client("n0", url, "spam-assassin:iid:0/3");
    assert.equal((await c.done).code, 0);
    assert.equal((await ok.done).code, 0);
  });

  it("a real client builds its model at the coordinator's --context, not a default", async () => {
    await setup();
    // A tiny random GPT-2 (the same directory for both sides): side's frozen passes take seconds.
    const modelDir = await saveTinyGpt2(join(dir, "tiny-gpt2"), { nPositions: 64 });
    const c = coordinator(
      [
        ...["--scheme", "side", "--model", modelDir, "--context", "24", "--test-data", "none"],
        ...["--rounds", "1", "--min-nodes", "1", "--local-steps", "2", "--local-sample-rate", "0.05"],
      ],
      join(dir, "run-context"),
    );
    const url = (await c.waitFor(/coordinator listening on (\S+)/))[1]!;
    const n = client("n0", url, "spam-assassin:iid:0/20", ["--model", modelDir, "--threads", "2"], "context");
    const [cr, nr] = await Promise.all([c.done, n.done]);
    assert.equal(cr.code, 0, c.stderr());
    assert.equal(nr.code, 0, n.stderr());
    assert.match(
      n.stderr(),
      /building the side model at 24 tokens per example \(the coordinator's plan\); DP steps on 2 worker threads/,
    );
    assert.doesNotMatch(n.stderr(), /at (64|128) tokens per example/);
    assert.equal((cr.json as { rounds: number }).rounds, 1);
  });

  it("stops cleanly when the next round would exceed the budget", async () => {
    await setup();
    // Fixed, small local noise: each round costs a lot of ε, so the budget runs out before round 5.
    const { result } = await runFederation(
      ["--rounds", "5", "--epsilon", "3", "--local-noise", "0.9"],
      join(dir, "run-budget"),
    );
    assert.equal(result.code, 0);
    const j = result.json as { rounds: number; stopReason: string; epsilon: number };
    assert.equal(j.stopReason, "budget-exhausted");
    assert.ok(j.rounds < 5);
    assert.ok(j.epsilon <= 3, `ε ${j.epsilon}`);
  });

  it("rejects bad flags naming them", async () => {
    const r = await runMemarc([
      "coordinator",
      "--key",
      join(dir, "coord.key"),
      "--allow",
      join(dir, "nodes.txt"),
      "--privacy-unit",
      "device",
      "--json",
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--privacy-unit/);
    const c = await runMemarc([
      "client",
      "--coordinator",
      "ws://127.0.0.1:1",
      "--coordinator-key",
      "nope",
      "--key",
      "x",
      "--data",
      "spam-assassin:iid:0/3",
    ]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /--coordinator-key/);
    const d = await runMemarc(["simulate", "--partition", "zipf", "--json"]);
    assert.equal(d.code, 2);
    assert.match(d.stderr, /--partition/);
  });
});
