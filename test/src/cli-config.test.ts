/**
 * The command line a new user meets: --version, "did you mean" for misspelt flags, commands and
 * values, --config files (YAML/JSON, flags override, keys checked), and --help generated from the
 * same definitions the commands read — presets included.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { TRAINING_PRESETS } from "@memarc/train";
import { runMemarc } from "./cli-run.js";

const dir = mkdtempSync(join(tmpdir(), "memarc-cli-config-"));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const errorOf = (r: { json: unknown }) => (r.json as { error: { code: string; message: string } }).error;
const CALIBRATE = ["--target-epsilon", "3", "--delta", "1e-5", "--sample-rate", "0.01", "--steps", "1000"];

describe("memarc command line", () => {
  it("--version prints the CLI package's version", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../apps/cli/package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    const text = await runMemarc(["--version"]);
    assert.equal(text.code, 0);
    assert.equal(text.stdout.trim(), `memarc ${pkg.version}`);
    const json = await runMemarc(["--version", "--json"]);
    assert.deepEqual(json.json, { version: pkg.version });
  });

  it("suggests the flag, command or value a typo meant, and only when one is close", async () => {
    const flag = await runMemarc(["accountant", ...CALIBRATE, "--acountant", "pld", "--json"]);
    assert.equal(flag.code, 2);
    assert.match(errorOf(flag).message, /unknown option --acountant; did you mean --accountant\?/);
    const command = await runMemarc(["simualte", "--json"]);
    assert.equal(command.code, 2);
    assert.match(errorOf(command).message, /unknown command "simualte"; did you mean "simulate"\?/);
    const value = await runMemarc(["accountant", ...CALIBRATE, "--accountant", "rdpp", "--json"]);
    assert.equal(value.code, 2);
    assert.match(errorOf(value).message, /--accountant: unknown value "rdpp".*did you mean "rdp"\?/);
    const far = await runMemarc(["accountant", "--frobnicate", "--json"]);
    assert.equal(far.code, 2);
    assert.doesNotMatch(errorOf(far).message, /did you mean/);
  });

  it("--epsilon -3 is refused with the flag's own rule", async () => {
    const r = await runMemarc(["simulate", "--epsilon", "-3", "--json"]);
    assert.equal(r.code, 2);
    assert.equal(errorOf(r).message, "--epsilon: must be > 0, got -3");
  });

  it("--config FILE: YAML and JSON give the same result as the flags; flags on the command line win", async () => {
    const flags = await runMemarc(["accountant", ...CALIBRATE, "--json"]);
    assert.equal(flags.code, 0, flags.stderr);
    const yaml = file(
      "calibrate.yaml",
      "# a run's privacy settings\ntarget-epsilon: 3\ndelta: 1e-5\nsample-rate: 0.01\nsteps: 1000\n",
    );
    const fromYaml = await runMemarc(["accountant", "--config", yaml, "--json"]);
    assert.equal(fromYaml.code, 0, fromYaml.stderr);
    assert.deepEqual(fromYaml.json, flags.json);
    const json = file(
      "calibrate.json",
      JSON.stringify({ "target-epsilon": 3, delta: 1e-5, "sample-rate": 0.01, steps: 1000 }),
    );
    const fromJson = await runMemarc(["accountant", "--config", json, "--json"]);
    assert.deepEqual(fromJson.json, flags.json);
    const overridden = await runMemarc(["accountant", "--config", yaml, "--steps", "2000", "--json"]);
    const direct = await runMemarc(["accountant", ...CALIBRATE.slice(0, -1), "2000", "--json"]);
    assert.equal((overridden.json as { steps: number }).steps, 2000);
    assert.deepEqual(overridden.json, direct.json);
  });

  it("--config errors name the file and the key: unknown keys, wrong types, bad values, bad syntax", async () => {
    const cases: [string, string, RegExp][] = [
      [
        "typo.yaml",
        "target-epsilon: 3\ndeltaa: 1e-5\n",
        /typo\.yaml: unknown key "deltaa"; did you mean "delta"\?/,
      ],
      ["json-key.yaml", "json: true\n", /unknown key "json"; --json belongs on the command line/],
      ["type.yaml", "target-epsilon: [3, 4]\n", /"target-epsilon" must be a single value, got a list/],
      [
        "value.yaml",
        "target-epsilon: 3\ndelta: 2\nsample-rate: 0.01\nsteps: 1000\n",
        /delta \(in value\.yaml\): must be < 1, got 2/,
      ],
      ["syntax.yaml", "steps: 10\n  delta: [1e-5\n", /syntax\.yaml:\d+: /],
      ["list.yaml", "- 1\n- 2\n", /expected a mapping of settings/],
      ["run.toml", "steps = 10\n", /expected a \.yaml, \.yml, \.json file/],
    ];
    for (const [name, text, expected] of cases) {
      const r = await runMemarc(["accountant", "--config", file(name, text), "--json"]);
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.match(errorOf(r).message, expected, name);
    }
  });

  it("--help shows each default from the definitions the command reads, presets per scheme", async () => {
    const sim = await runMemarc(["simulate", "--help"]);
    assert.match(sim.stdout, /--clients N +number of nodes \(default 3\)/);
    assert.match(sim.stdout, /--rounds N +planned rounds \(default 5\)/);
    const ft = await runMemarc(["finetune", "--help"]);
    const lrHelp = /--lr X +peak learning rate \(default per scheme: (.*)\)/.exec(ft.stdout)?.[1] ?? "";
    const [lr = "", nonPrivate = ""] = lrHelp.split("; with --epsilon inf: ");
    for (const [scheme, p] of Object.entries(TRAINING_PRESETS)) {
      const group = lr.split(", ").find((g) => g.split(" ")[0]!.split("/").includes(scheme));
      assert.equal(group?.split(" ")[1], String(p.lr), `${scheme}: ${lr}`);
      const np = nonPrivate.split(", ").find((g) => g.split(" ")[0] === scheme);
      assert.equal(
        np?.split(" ")[1],
        p.nonPrivate?.lr === undefined ? undefined : String(p.nonPrivate.lr),
        scheme,
      );
    }
    // A single node's batch and a federated node's fixed denominator are separate preset fields
    // (side: 1024 vs 256), each shown by the command that takes it.
    const perScheme = (help: string, flag: string) =>
      new RegExp(`--${flag} B +.*\\(default per scheme: ([^;)]*)`).exec(help)?.[1] ?? "";
    const valueFor = (list: string, scheme: string) =>
      list
        .split(", ")
        .find((g) => g.split(" ")[0]!.split("/").includes(scheme))
        ?.split(" ")[1];
    for (const [scheme, p] of Object.entries(TRAINING_PRESETS)) {
      assert.equal(valueFor(perScheme(ft.stdout, "batch-size"), scheme), String(p.batchSize), scheme);
      assert.equal(
        valueFor(perScheme(sim.stdout, "local-batch-size"), scheme),
        String(p.localBatchSize),
        scheme,
      );
    }
    assert.notEqual(TRAINING_PRESETS.side.batchSize, TRAINING_PRESETS.side.localBatchSize);
    // simulate never runs without privacy: its help names no such default.
    assert.doesNotMatch(sim.stdout, /with --epsilon inf/);
  });

  it("a run for people: pretty log lines and a summary table; json logs when asked (or not on a terminal)", async () => {
    const run = ["simulate", "--scheme", "logreg", "--clients", "2", "--rounds", "2", "--log-level", "info"];
    const pretty = await runMemarc([...run, "--log-format", "pretty"], {}, 170_000);
    assert.equal(pretty.code, 0, pretty.stderr);
    assert.match(pretty.stderr, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(simulate\): /m);
    assert.doesNotMatch(pretty.stderr, /^\{"level"/m);
    assert.match(pretty.stderr, /round 1\/2: .*, ETA \d+ s/);
    assert.match(pretty.stdout, /^rounds +2 of 2 \(completed\)$/m);
    assert.match(pretty.stdout, /^test accuracy +\d+\.\d %$/m);
    const json = await runMemarc(
      [...run.slice(0, -4), "--rounds", "1", "--log-level", "info", "--json"],
      {},
      170_000,
    );
    assert.equal(json.code, 0, json.stderr);
    // stderr is a pipe here, so the default is json: every log line parses.
    const logs = json.stderr.split("\n").filter((l) => l.startsWith("{"));
    assert.ok(logs.length > 0);
    for (const l of logs) assert.equal(typeof (JSON.parse(l) as { level: string }).level, "string");
  });
});
