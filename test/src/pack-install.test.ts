/**
 * The packages as a user gets them: every package under packages/ is packed with `npm pack`, the
 * tarballs are installed together into a fresh project in the OS temp directory (outside the
 * repository, so nothing resolves through the workspace), and the examples in examples/ are
 * type-checked against the installed declarations and run there with `node`.
 *
 * Third-party dependencies come from the npm cache or registry (`--prefer-offline`). The install
 * mirrors the repository's .npmrc (onnxruntime-node's post-install would fetch the optional CUDA
 * provider from outside the registry) and omits optional dependencies (tfjs-node-gpu's post-install
 * downloads libtensorflow; the examples run on the wasm backend).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type ProcessResult, runProcess } from "./cli-run.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PACKAGES = [
  "privacy",
  "tensor",
  "tokenizer",
  "models",
  "data",
  "train",
  "protocol",
  "federation",
  "inference",
  "ops",
] as const;
const EXAMPLES = ["dp-finetune", "custom-strategy", "own-model"] as const;
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  main?: string;
  types?: string;
  exports?: Record<string, { types?: string; default?: string }>;
  files?: string[];
  license?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const manifest = (pkg: string): Manifest =>
  JSON.parse(readFileSync(join(ROOT, "packages", pkg, "package.json"), "utf8")) as Manifest;

/** Packages with a `./node` entry (what needs files, servers or threads; `.` loads in a browser). */
const NODE_ENTRIES = PACKAGES.filter((p) => manifest(p).exports?.["./node"]);

/**
 * The environment for npm and node in the scratch project: without the variables an enclosing
 * `npm test` exports (npm_config_local_prefix=/repo would point the install back at the repository).
 */
function scratchEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      /^npm_(package|lifecycle)_|^npm_command$|^npm_config_(local_prefix|prefix|global_prefix|workspaces?)$/.test(
        k,
      )
    )
      continue;
    env[k] = v;
  }
  env.MEMARC_BACKEND = process.env.MEMARC_BACKEND ?? "wasm";
  return env;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<ProcessResult> {
  return runProcess(cmd, args, { cwd, env: scratchEnv(), timeoutMs });
}

/** What the examples print (the fields the tests read). */
interface ExampleResult {
  epsilon: number;
  noiseMultiplier: number;
  testAccuracy: number;
  /** dp-finetune */
  rdpEpsilon: number;
  pldEpsilon: number;
  reloadedAccuracy: number;
  /** custom-strategy, own-model */
  completedRound: number;
  nodesFinished: string[];
  nodeEpsilons: number[];
  expectedEpsilon: number;
}

/** Run an example in the scratch project; its result is the JSON object on its last stdout line. */
async function runExample(project: string, name: (typeof EXAMPLES)[number]): Promise<ExampleResult> {
  const r = await run(process.execPath, [`${name}.mjs`], project, 240_000);
  return lastJsonLine(r, `${name}.mjs`) as unknown as ExampleResult;
}

function lastJsonLine(r: ProcessResult, what: string): Record<string, unknown> {
  assert.equal(r.code, 0, `${what} exited with ${r.code}\n${r.stderr.slice(-4000)}`);
  const last = r.stdout.trimEnd().split("\n").pop() ?? "";
  try {
    return JSON.parse(last) as Record<string, unknown>;
  } catch {
    assert.fail(`${what}: last stdout line is not JSON: ${last}\n${r.stderr.slice(-2000)}`);
  }
}

/** Bare module specifiers a compiled file loads: static and dynamic imports, require, require.resolve. */
function bareSpecifiers(js: string): string[] {
  const out = new Set<string>();
  const re =
    /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+|\brequire\s*\(\s*|\brequire\.resolve\s*\(\s*)["']([^"'./][^"']*)["']/gm;
  for (const m of js.matchAll(re)) {
    const spec = m[1]!;
    if (spec.startsWith("node:") || builtinModules.includes(spec)) continue;
    const parts = spec.split("/");
    out.add(spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!);
  }
  return [...out];
}

describe("package manifests", () => {
  it("every package is publishable: not private, exports with types, a files list, a license", () => {
    for (const pkg of PACKAGES) {
      const m = manifest(pkg);
      assert.equal(m.private, undefined, `${m.name}: "private" keeps it from being published`);
      assert.equal(m.license, "Apache-2.0", `${m.name}: license`);
      assert.ok(m.files?.includes("dist"), `${m.name}: files must include dist`);
      assert.equal(m.main, "./dist/index.js", `${m.name}: main`);
      assert.equal(m.types, "./dist/index.d.ts", `${m.name}: types`);
      for (const [sub, target] of Object.entries(m.exports ?? {})) {
        assert.ok(target.types && target.default, `${m.name} exports["${sub}"] needs types and default`);
        assert.ok(Object.keys(target)[0] === "types", `${m.name} exports["${sub}"]: "types" must come first`);
      }
      assert.ok(m.exports?.["."], `${m.name}: exports["."]`);
    }
  });
});

// The install needs the registry for third-party packages not in the npm cache; without it (and only
// then) the tarball suite is skipped.
const ping = spawnSync("npm", ["ping"], { encoding: "utf8", timeout: 30_000, env: scratchEnv() });
const pingSays = `${ping.stderr ?? ""}${ping.error?.message ?? ""}`
  .split("\n")
  .filter((l) => l.trim() && !l.startsWith("npm warn"))
  .join(" | ");
const unreachable =
  ping.status === 0 ? false : `npm registry unreachable (npm ping: ${pingSays || "timed out"})`;

describe("packed tarballs installed outside the repository", { skip: unreachable }, () => {
  let work = "";
  let project = "";
  const tarballs: { name: string; file: string; files: string[] }[] = [];

  before(
    async () => {
      work = mkdtempSync(join(tmpdir(), "memarc-pack-"));
      const packDir = join(work, "tarballs");
      project = join(work, "project");
      for (const dir of [packDir, project]) mkdirSync(dir);

      const pack = await run(
        "npm",
        [
          "pack",
          "--json",
          "--ignore-scripts",
          "--pack-destination",
          packDir,
          ...PACKAGES.flatMap((p) => ["-w", `@memarc/${p}`]),
        ],
        ROOT,
        180_000,
      );
      assert.equal(pack.code, 0, `npm pack failed\n${pack.stderr}`);
      for (const t of JSON.parse(pack.stdout) as {
        name: string;
        filename: string;
        files: { path: string }[];
      }[])
        tarballs.push({ name: t.name, file: join(packDir, t.filename), files: t.files.map((f) => f.path) });

      writeFileSync(
        join(project, "package.json"),
        `${JSON.stringify({ name: "memarc-pack-check", private: true, type: "module" }, null, 2)}\n`,
      );
      // As in the repository's .npmrc: the CPU runtime is bundled; the CUDA provider is opt-in.
      writeFileSync(join(project, ".npmrc"), "onnxruntime-node-install=skip\n");
      const install = await run(
        "npm",
        [
          "install",
          "--prefix",
          project,
          "--prefer-offline",
          "--no-audit",
          "--no-fund",
          "--omit=optional",
          ...tarballs.map((t) => t.file),
        ],
        project,
        300_000,
      );
      assert.equal(install.code, 0, `npm install of the tarballs failed\n${install.stderr.slice(-4000)}`);
      for (const e of EXAMPLES) copyFileSync(join(ROOT, "examples", `${e}.mjs`), join(project, `${e}.mjs`));
    },
    { timeout: 480_000 },
  );

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("each tarball holds its build, types and run-time assets, and no tests", () => {
    assert.deepEqual(tarballs.map((t) => t.name).sort(), PACKAGES.map((p) => `@memarc/${p}`).sort());
    for (const t of tarballs) {
      for (const f of ["package.json", "dist/index.js", "dist/index.d.ts"])
        assert.ok(t.files.includes(f), `${t.name}: missing ${f}`);
      const tests = t.files.filter((f) => /\.test\.(js|d\.ts|ts)|test-support\./.test(f));
      assert.deepEqual(tests, [], `${t.name} ships test files`);
    }
    const models = tarballs.find((t) => t.name === "@memarc/models")!;
    for (const f of [
      "assets/all-minilm-l6-v2/model.safetensors",
      "assets/all-minilm-l6-v2/vocab.txt",
      "assets/backbone/model.safetensors",
      "assets/backbone/merges.txt",
    ])
      assert.ok(models.files.includes(f), `@memarc/models: missing ${f}`);
    assert.ok(tarballs.find((t) => t.name === "@memarc/ops")!.files.includes("static/index.html"));
  });

  it("every shipped module's imports are declared dependencies; @memarc versions resolve within the set", () => {
    const names = new Set(PACKAGES.map((p) => manifest(p).name));
    for (const pkg of PACKAGES) {
      const m = manifest(pkg);
      const declared = { ...m.dependencies, ...m.optionalDependencies };
      const shipped = tarballs
        .find((t) => t.name === m.name)!
        .files.filter((f) => f.startsWith("dist/") && f.endsWith(".js"));
      for (const file of shipped) {
        for (const spec of bareSpecifiers(readFileSync(join(ROOT, "packages", pkg, file), "utf8"))) {
          if (spec === m.name) continue;
          assert.ok(spec in declared, `${m.name}: ${file} imports ${spec}, which is not in its dependencies`);
        }
      }
      for (const [dep, range] of Object.entries(m.dependencies ?? {})) {
        if (!dep.startsWith("@memarc/")) continue;
        assert.ok(names.has(dep), `${m.name} depends on ${dep}, which is not one of the packages`);
        assert.equal(
          range,
          manifest(dep.slice("@memarc/".length)).version,
          `${m.name} → ${dep}: exact version`,
        );
      }
    }
  });

  it("every package loads from the project (not the workspace) and finds its bundled assets", async () => {
    const script = [
      ...PACKAGES.map((p, i) => `import * as m${i} from "@memarc/${p}";`),
      // The Node-only entries too (files, servers, threads), where a package has one.
      ...NODE_ENTRIES.map((p, i) => `import * as n${i} from "@memarc/${p}/node";`),
      `import { bundledBackbonePath, bundledEncoderPath, missingBackboneFiles } from "@memarc/models/node";`,
      `const loaded = [${[...PACKAGES.map((_, i) => `m${i}`), ...NODE_ENTRIES.map((_, i) => `n${i}`)].map((m) => `Object.keys(${m}).length`).join(", ")}];`,
      `const resolved = ${JSON.stringify(PACKAGES.map((p) => `@memarc/${p}`))}.map((p) => import.meta.resolve(p));`,
      `const missing = [...missingBackboneFiles(bundledEncoderPath(), "bert"), ...missingBackboneFiles(bundledBackbonePath())];`,
      `console.log(JSON.stringify({ loaded, resolved, missing }));`,
    ].join("\n");
    writeFileSync(join(project, "load-all.mjs"), script);
    const r = await run(process.execPath, ["load-all.mjs"], project, 120_000);
    const json = lastJsonLine(r, "load-all.mjs") as {
      loaded: number[];
      resolved: string[];
      missing: string[];
    };
    const entries = [...PACKAGES.map((p) => `@memarc/${p}`), ...NODE_ENTRIES.map((p) => `@memarc/${p}/node`)];
    json.loaded.forEach((n, i) => {
      assert.ok(n > 0, `${entries[i]} exports nothing`);
    });
    for (const url of json.resolved)
      assert.ok(
        fileURLToPath(url).startsWith(join(project, "node_modules")),
        `resolved outside the project: ${url}`,
      );
    assert.deepEqual(json.missing, []);
  });

  it("the examples type-check against the installed declarations", async () => {
    const r = await run(
      process.execPath,
      [
        TSC,
        "--noEmit",
        "--allowJs",
        "--checkJs",
        "--strict",
        "--noUncheckedIndexedAccess",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--target",
        "es2022",
        "--lib",
        "es2023",
        "--types",
        "node",
        "--skipLibCheck",
        ...EXAMPLES.map((e) => `${e}.mjs`),
      ],
      project,
      120_000,
    );
    assert.equal(r.code, 0, `tsc --checkJs on the examples:\n${r.stdout}${r.stderr}`);
  });

  it("examples/dp-finetune.mjs: DP-SGD within ε, the accountants agree, the saved model reloads", async () => {
    const json = await runExample(project, "dp-finetune");
    assert.ok(json.epsilon <= 3 && json.epsilon > 2.5, `ε ${json.epsilon}`);
    assert.ok(Math.abs(json.rdpEpsilon - json.epsilon) < 1e-9, "ε recomputed by a fresh RDP accountant");
    assert.ok(json.pldEpsilon > 0 && json.pldEpsilon < json.rdpEpsilon, `PLD ε ${json.pldEpsilon}`);
    assert.ok(json.noiseMultiplier > 0.5, `σ ${json.noiseMultiplier}`);
    assert.ok(json.testAccuracy > 0.8, `accuracy ${json.testAccuracy}`);
    assert.equal(json.reloadedAccuracy, json.testAccuracy);
  });

  it("examples/custom-strategy.mjs: a custom Strategy runs 3 rounds over sockets; the ledger charges its events", async () => {
    const json = await runExample(project, "custom-strategy");
    assert.equal(json.completedRound, 3);
    assert.deepEqual(json.nodesFinished, ["completed", "completed", "completed"]);
    assert.ok(Math.abs(json.epsilon - json.expectedEpsilon) < 1e-9, `ledger ε ${json.epsilon}`);
    assert.ok(json.epsilon <= 4, `ε ${json.epsilon}`);
    for (const e of json.nodeEpsilons) assert.ok(Math.abs(e - json.epsilon) < 1e-9, `node ε ${e}`);
    assert.ok(json.testAccuracy > 0.8, `accuracy ${json.testAccuracy}`);
  });

  it("examples/own-model.mjs: a user's MLP through LocalModel learns XOR under DP", async () => {
    const json = await runExample(project, "own-model");
    assert.equal(json.completedRound, 4);
    assert.deepEqual(json.nodesFinished, ["completed", "completed"]);
    assert.ok(json.epsilon <= 4 && json.epsilon > 3, `ε ${json.epsilon}`);
    for (const e of json.nodeEpsilons) assert.ok(Math.abs(e - json.epsilon) < 1e-9, `node ε ${e}`);
    // A linear model cannot beat ~60 % on XOR; the hidden layer is what is being trained.
    assert.ok(json.testAccuracy > 0.8, `accuracy ${json.testAccuracy}`);
  });
});
