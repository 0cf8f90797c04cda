/**
 * The Docker deliverables, checked without a Docker engine (none runs in CI): the Dockerfiles are
 * parsed and held to the image rules (pinned bases, non-root, healthcheck, no secrets), the
 * .dockerignore is evaluated against real repository paths, every flag the images and the compose
 * file pass is checked against the command contract in docs/federation-cli.md, and the compose
 * files are validated by Debian's docker-compose (v1) itself.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DOCKER = join(ROOT, "docker");

// ---------- a small Dockerfile parser: continuation lines joined, comments dropped ----------
interface Instruction {
  cmd: string;
  args: string;
  stage: number;
}

function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = "";
  let stage = -1;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!buf && (line === "" || line.startsWith("#"))) continue;
    if (buf && line.startsWith("#")) continue; // comment inside a continued instruction
    if (line.endsWith("\\")) {
      buf += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (buf + line).trim();
    buf = "";
    const m = /^(\w+)\s+([\s\S]*)$/.exec(full);
    assert.ok(m, `unparseable Dockerfile line: ${full}`);
    const cmd = m[1]!.toUpperCase();
    if (cmd === "FROM") stage++;
    out.push({ cmd, args: m[2]!.trim(), stage });
  }
  assert.equal(buf, "", "Dockerfile ends inside a continued line");
  return out;
}

/** FROM args → {image, tag, alias}. */
function fromOf(args: string) {
  const m =
    /^(?:--platform=\S+\s+)?(\S+?)(?::([^\s@]+))?(?:@(sha256:[0-9a-f]{64}))?(?:\s+AS\s+(\S+))?$/i.exec(args);
  assert.ok(m, `unparseable FROM ${args}`);
  return { image: m[1]!, tag: m[2] ?? null, digest: m[3] ?? null, alias: m[4] ?? null };
}

/** Exec-form JSON array (CMD/ENTRYPOINT/HEALTHCHECK CMD) → argv. */
function execForm(args: string): string[] {
  const v = JSON.parse(args) as unknown;
  assert.ok(Array.isArray(v) && v.every((x) => typeof x === "string"), `not exec form: ${args}`);
  return v as string[];
}

const SECRET_NAME = /(secret|token|passw|private|api[_-]?key|credential|(^|_)key($|_))/i;
const SECRET_FILE = /\.(key|pem|p12|pfx)\b|(^|\/)\.env\b|nodes\.txt|id_(rsa|ed25519)/i;

function checkImageRules(path: string, expectBase: RegExp[]): Instruction[] {
  const file = path.split("/").pop()!;
  const ins = parseDockerfile(readFileSync(path, "utf8"));
  const aliases = new Set<string>();
  const bases: string[] = [];
  for (const i of ins.filter((x) => x.cmd === "FROM")) {
    const f = fromOf(i.args);
    if (aliases.has(f.image)) {
      if (f.alias) aliases.add(f.alias);
      continue; // a previous stage, not a registry image
    }
    assert.ok(f.tag, `${file}: base ${f.image} has no tag`);
    assert.notEqual(f.tag, "latest", `${file}: base ${f.image}:latest is not pinned`);
    assert.match(
      f.tag,
      /^\d+\.\d+\.\d+/,
      `${file}: base ${f.image}:${f.tag} needs an exact x.y.z version tag`,
    );
    bases.push(`${f.image}:${f.tag}`);
    if (f.alias) aliases.add(f.alias);
  }
  for (const re of expectBase)
    assert.ok(
      bases.some((b) => re.test(b)),
      `${file}: expected a base matching ${re}, got ${bases.join(", ")}`,
    );
  // COPY --from must name an earlier stage or a pinned image.
  for (const i of ins.filter((x) => x.cmd === "COPY" && /--from=/.test(x.args))) {
    const from = /--from=(\S+)/.exec(i.args)![1]!;
    assert.ok(
      aliases.has(from) || /:\d+\.\d+\.\d+/.test(from),
      `${file}: COPY --from=${from} is neither a stage nor pinned`,
    );
  }
  // Non-root at run time: the last USER of the final stage.
  const last = Math.max(...ins.map((i) => i.stage));
  const users = ins.filter((i) => i.stage === last && i.cmd === "USER").map((i) => i.args);
  assert.ok(users.length > 0, `${file}: the final stage sets no USER (would run as root)`);
  assert.doesNotMatch(users.at(-1)!, /^(root|0)(:|$)/, `${file}: final USER is root`);
  // No secrets: nothing key-like copied in, no secret-looking ENV/ARG, no remote ADD.
  for (const i of ins) {
    if (i.cmd === "COPY" || i.cmd === "ADD") {
      const srcs = i.args
        .split(/\s+/)
        .filter((a) => !a.startsWith("--"))
        .slice(0, -1);
      for (const s of srcs)
        assert.doesNotMatch(s, SECRET_FILE, `${file}: ${i.cmd} ${i.args} copies key material`);
    }
    if (i.cmd === "ADD")
      assert.doesNotMatch(
        i.args,
        /https?:\/\//,
        `${file}: remote ADD is unverifiable; use a pinned download`,
      );
    if (i.cmd === "ENV" || i.cmd === "ARG") {
      const names = [...i.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)/g)].map((m) => m[1]!);
      for (const n of names)
        assert.doesNotMatch(n, SECRET_NAME, `${file}: ${i.cmd} ${n} looks like a secret`);
    }
  }
  return ins;
}

// ---------- the command contract (docs/federation-cli.md) ----------
function contractFlags(): Map<string, Set<string>> {
  const doc = readFileSync(join(ROOT, "docs", "federation-cli.md"), "utf8");
  const out = new Map<string, Set<string>>();
  let current: string | null = null;
  for (const line of doc.split("\n")) {
    const h = /^## `memarc (\w+)`/.exec(line);
    if (h) {
      current = h[1]!;
      out.set(current, new Set(["--help", "--json"]));
      continue;
    }
    if (current && line.startsWith("| `--")) {
      const cell = line.split("|")[1]!;
      for (const m of cell.matchAll(/--[a-z][a-z0-9-]*/g)) out.get(current)!.add(m[0]);
    }
  }
  return out;
}

function assertFlagsInContract(where: string, argv: string[]): void {
  const contract = contractFlags();
  const command = argv[0]!;
  const allowed = contract.get(command);
  assert.ok(allowed, `${where}: "memarc ${command}" is not in docs/federation-cli.md`);
  for (const a of argv.slice(1).filter((x) => x.startsWith("--"))) {
    assert.ok(allowed.has(a), `${where}: memarc ${command} ${a} is not in the contract`);
  }
}

// ---------- .dockerignore, evaluated (the subset of its syntax we use: *, **, ?, !, trailing /) ----------
function dockerignore(): (path: string) => boolean {
  const rules = readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pat = (negate ? l.slice(1) : l).replace(/^\/+/, "").replace(/\/+$/, "");
      let re = "";
      for (let i = 0; i < pat.length; i++) {
        const c = pat[i]!;
        if (c === "*" && pat[i + 1] === "*") {
          re += pat[i + 2] === "/" ? "(?:.*/)?" : ".*";
          i += pat[i + 2] === "/" ? 2 : 1;
        } else if (c === "*") re += "[^/]*";
        else if (c === "?") re += "[^/]";
        else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
      }
      // A pattern that matches a directory excludes everything below it.
      return { negate, re: new RegExp(`^${re}(?:/.*)?$`) };
    });
  return (path: string) => {
    let excluded = false;
    for (const r of rules) if (r.re.test(path)) excluded = !r.negate;
    return excluded;
  };
}

describe("Dockerfiles", () => {
  it("coordinator: pinned Node 20 slim base, non-root, healthcheck on /healthz, /state volume, contract flags", () => {
    const ins = checkImageRules(join(DOCKER, "coordinator.Dockerfile"), [
      /^node:20\.\d+\.\d+-bookworm-slim$/,
    ]);
    const last = Math.max(...ins.map((i) => i.stage));
    const final = ins.filter((i) => i.stage === last);
    const hc = final.find((i) => i.cmd === "HEALTHCHECK");
    assert.ok(hc, "coordinator image has no HEALTHCHECK");
    assert.match(hc.args, /^(--\S+\s+)*CMD\s/);
    const hcArgv = execForm(hc.args.replace(/^(--\S+\s+)*CMD\s+/, ""));
    assert.match(hcArgv.join(" "), /http:\/\/127\.0\.0\.1:7701\/healthz/);
    const volume = final.find((i) => i.cmd === "VOLUME");
    assert.ok(volume && execForm(volume.args).includes("/state"), "no VOLUME /state");
    assert.ok(final.some((i) => i.cmd === "EXPOSE" && /\b7700\b/.test(i.args) && /\b7701\b/.test(i.args)));
    assert.ok(
      ins.some((i) => i.cmd === "RUN" && /\bnpm ci\b/.test(i.args)),
      "the image must install with npm ci",
    );
    const entry = execForm(final.find((i) => i.cmd === "ENTRYPOINT")!.args);
    assert.deepEqual(entry, ["memarc"]);
    const cmd = execForm(final.find((i) => i.cmd === "CMD")!.args);
    assert.equal(cmd[0], "coordinator");
    assert.equal(cmd[cmd.indexOf("--host") + 1], "0.0.0.0");
    assert.equal(cmd[cmd.indexOf("--dashboard-port") + 1], "7701", "healthcheck and dashboard port differ");
    assert.equal(cmd[cmd.indexOf("--state") + 1], "/state");
    assertFlagsInContract("coordinator.Dockerfile CMD", cmd);
  });

  it("client: pinned CUDA 11.2 + cuDNN 8 runtime (what tfjs-node-gpu 4.22 loads), Node 20, tfjs-node-gpu built in, non-root", () => {
    const ins = checkImageRules(join(DOCKER, "client.Dockerfile"), [
      /^nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-ubuntu\d+\.\d+$/,
      /^node:20\.\d+\.\d+-/,
    ]);
    const runs = ins.filter((i) => i.cmd === "RUN").map((i) => i.args);
    assert.ok(runs.some((r) => /\bnpm ci\b/.test(r)));
    assert.ok(
      runs.some((r) => /npm rebuild @tensorflow\/tfjs-node-gpu/.test(r)),
      "tfjs-node-gpu not built at image build time",
    );
    // The lockfile pins the binding the image builds, and that binding fixes the CUDA/cuDNN pair:
    // tfjs-node-gpu 4.22.0 downloads libtensorflow 2.9.1 (its scripts/deps-constants.js), built
    // against CUDA 11.2 + cuDNN 8.1. A tfjs bump must revisit this table and the base image.
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
    const tfjsGpu = lock.packages["node_modules/@tensorflow/tfjs-node-gpu"].version as string;
    const NEEDS: Record<string, { libtensorflow: string; cuda: string; cudnn: string }> = {
      "4.22.0": { libtensorflow: "2.9.1", cuda: "11.2", cudnn: "8.1" },
    };
    const needs = NEEDS[tfjsGpu];
    assert.ok(needs, `tfjs-node-gpu ${tfjsGpu}: which libtensorflow, CUDA and cuDNN does it need?`);
    const last = Math.max(...ins.map((i) => i.stage));
    const [cudaMajor, cudaMinor] = needs.cuda.split(".");
    for (const from of ins.filter((i) => i.cmd === "FROM" && i.args.startsWith("nvidia/cuda:")))
      assert.match(
        from.args,
        new RegExp(`^nvidia/cuda:${cudaMajor}\\.${cudaMinor}\\.\\d+-cudnn${needs.cudnn.split(".")[0]}-`),
      );
    // The runtime stage refuses, at build time, a base whose CUDA or cuDNN differ from that pair.
    const checks = ins
      .filter((i) => i.stage === last && i.cmd === "RUN")
      .map((i) => i.args)
      .join("\n");
    assert.ok(checks.includes(`"\${CUDA_VERSION}" in ${needs.cuda}.*)`), "no build-time CUDA version check");
    assert.match(checks, /dpkg-query -W -f='\$\{Version\}' libcudnn8/, "no build-time cuDNN version check");
    assert.ok(checks.includes(`"\${cudnn}" in ${needs.cudnn}.*)`), "the cuDNN check accepts another version");
    // And the comment and docs say which versions, and why.
    const dockerfile = readFileSync(join(DOCKER, "client.Dockerfile"), "utf8");
    const docs = readFileSync(join(ROOT, "docs", "docker.md"), "utf8");
    for (const text of [dockerfile, docs]) {
      assert.ok(text.includes(`libtensorflow ${needs.libtensorflow}`));
      assert.ok(text.includes(`CUDA ${needs.cuda}`) && text.includes(`cuDNN ${needs.cudnn}`));
    }
    const env = ins
      .filter((i) => i.stage === last && i.cmd === "ENV")
      .map((i) => i.args)
      .join(" ");
    assert.match(env, /MEMARC_BACKEND=auto/, "the client must fall back to wasm where no GPU is present");
    // Node in the runtime stage comes from the pinned node stage.
    assert.ok(
      ins.some(
        (i) => i.stage === last && i.cmd === "COPY" && /--from=node\s+\/usr\/local\/bin\/node/.test(i.args),
      ),
    );
  });

  it("the rule checker rejects what it should (latest, untagged, root, copied keys, secret ENV)", () => {
    const dir = mkdtempSync(join(tmpdir(), "memarc-dockerfile-"));
    const bad = [
      "FROM node:latest\nUSER app\n",
      "FROM node\nUSER app\n",
      "FROM node:20-slim\nUSER app\n",
      "FROM node:20.20.2-bookworm-slim\nRUN true\n",
      "FROM node:20.20.2-bookworm-slim\nUSER app\nUSER root\n",
      "FROM node:20.20.2-bookworm-slim\nCOPY keys/coordinator.key /keys/\nUSER app\n",
      "FROM node:20.20.2-bookworm-slim\nENV MEMARC_JOIN_TOKEN=abc\nUSER app\n",
      "FROM node:20.20.2-bookworm-slim\nARG SECRET_KEY\nUSER app\n",
      "FROM node:20.20.2-bookworm-slim\nADD https://example.com/x.tgz /x\nUSER app\n",
    ];
    try {
      bad.forEach((text, k) => {
        const name = `bad-${k}.Dockerfile`;
        writeFileSync(join(dir, name), text);
        assert.throws(
          () => checkImageRules(join(dir, name), []),
          assert.AssertionError,
          `accepted:\n${text}`,
        );
      });
      writeFileSync(
        join(dir, "good.Dockerfile"),
        "FROM node:20.20.2-bookworm-slim\nENV NODE_ENV=production\nUSER app\n",
      );
      checkImageRules(join(dir, "good.Dockerfile"), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(".dockerignore keeps keys, state, local installs and .git out of the build context", () => {
    const ignored = dockerignore();
    for (const p of [
      "coordinator.key",
      "keys/coordinator.key",
      "packages/protocol/src/fixtures/node.key",
      "memarc-state/state.json",
      "runs/x/state.json",
      "node_modules/pino/pino.js",
      "packages/ops/node_modules/x/index.js",
      "packages/ops/dist/index.js",
      "packages/ops/tsconfig.tsbuildinfo",
      ".git/config",
      "test-artifacts/dashboard.png",
      "deploy/nodes.txt",
      "node-a.pub",
      ".env",
      // caches: frozen-backbone features, exported ONNX graphs, interrupted writes
      ".memarc-cache/features/side-0123abcd.f16",
      "apps/cli/.memarc-cache/features/side-0123abcd.f16",
      "features/side-0123abcd.f16",
      "packages/models/assets/backbone/.memarc-onnx/graph.onnx",
      "packages/models/assets/backbone/.memarc-onnx/0123.onnx.tmp",
      // state directories wherever they are
      "apps/cli/memarc-state/state.json",
      "run1/state.json",
      "run1/global-000003.weights",
      "node-state/accountant.json",
      // a node's own data, wherever it was left
      "mine.jsonl",
      "data/hospital-a.csv",
      "apps/cli/emails.tsv",
      // keys stay out even inside committed assets
      "packages/models/assets/leaked.key",
    ])
      assert.ok(ignored(p), `${p} would be sent to the Docker daemon`);
    for (const p of [
      "package.json",
      "package-lock.json",
      "tsconfig.json",
      "tsconfig.base.json",
      "apps/cli/bin/memarc.js",
      "apps/cli/src/main.ts",
      "packages/ops/static/app.js",
      "packages/models/assets/config.json",
      "packages/models/assets/backbone/model.safetensors",
      "packages/models/assets/all-minilm-l6-v2/vocab.txt",
      // a data file a package commits as an asset is part of the source
      "packages/data/assets/sample.csv",
      "packages/data/assets/sample.jsonl",
      "test/package.json",
    ])
      assert.ok(!ignored(p), `${p} is needed to build the images`);
  });

  it(".dockerignore keeps every committed file the build needs", () => {
    const r = spawnSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const ignored = dockerignore();
    // Not needed to build: docker/ itself, tests and their fixtures, examples, and key material
    // (committed test keys never belong in an image). Everything else is source, manifest or asset.
    const notNeeded = (p: string) =>
      p.startsWith("docker/") ||
      /(^|\/)(fixtures|examples)\//.test(p) ||
      /\.test\.ts$/.test(p) ||
      SECRET_FILE.test(p) ||
      p.endsWith(".pub");
    const dropped = r.stdout
      .trim()
      .split("\n")
      .filter((p) => !notNeeded(p))
      .filter(ignored);
    assert.deepEqual(dropped, [], "committed files the image build would not see");
  });
});

// ---------- docker-compose (Debian's v1) ----------
const COMPOSE_BIN = ["/usr/bin/docker-compose", "/usr/local/bin/docker-compose"].find((p) => existsSync(p));
const composeSkip =
  !COMPOSE_BIN && !process.env.CI
    ? "docker-compose not installed (apt-get install -y docker-compose); CI runs this"
    : false;

function compose(args: string[], cwd = ROOT) {
  const r = spawnSync(COMPOSE_BIN ?? "docker-compose", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      COMPOSE_PROJECT_NAME: "memarc-test",
      MEMARC_DASHBOARD_TOKEN: "compose-test-token-0123456789",
    },
  });
  if (r.error) throw r.error;
  return r;
}

interface ComposeService {
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  volumes?: (string | { source: string; target: string; read_only?: boolean })[];
  network_mode?: string;
  ports?: unknown[];
  environment?: Record<string, string>;
  deploy?: { resources: { reservations: { devices: { driver: string; capabilities: string[] }[] } } };
}
interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

/** docker-compose v1 is Python with PyYAML; the same interpreter turns its YAML output into JSON. */
function yamlToJson(yaml: string): ComposeConfig {
  const py = readFileSync(COMPOSE_BIN!, "utf8")
    .split("\n")[0]!
    .replace(/^#!\s*/, "")
    .split(" ")[0]!;
  const r = spawnSync(py, ["-c", "import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"], {
    input: yaml,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ComposeConfig;
}

describe("docker/compose.yaml (validated by docker-compose)", { skip: composeSkip }, () => {
  it("is valid, with the keys job, coordinator, two nodes and their volumes", () => {
    const r = compose(["-f", "docker/compose.yaml", "config"]);
    assert.equal(r.status, 0, r.stderr);
    const cfg = yamlToJson(r.stdout);
    const services = cfg.services;
    const svc = (n: string): Required<ComposeService> => {
      const v = services[n];
      assert.ok(v, `no service ${n}`);
      return v as Required<ComposeService>;
    };
    assert.deepEqual(Object.keys(services).sort(), ["coordinator", "keys", "node-a", "node-b"]);
    assert.deepEqual(Object.keys(cfg.volumes).sort(), [
      "coordinator-key",
      "coordinator-state",
      "node-a-key",
      "node-a-state",
      "node-b-key",
      "node-b-state",
      "public-keys",
    ]);
    const services2 = compose(["-f", "docker/compose.yaml", "config", "--services"]);
    assert.equal(services2.status, 0);
    assert.deepEqual(services2.stdout.trim().split("\n").sort(), ["coordinator", "keys", "node-a", "node-b"]);

    // keys: one shot, no network, keygen for all three identities with --pub-out, allow-list written.
    const keys = svc("keys");
    assert.equal(keys.network_mode, "none");
    const script = (keys.command as string[]).join("\n");
    for (const who of ["coordinator", "node-a", "node-b"])
      assert.match(
        script,
        new RegExp(`memarc keygen --out /out/${who}/identity\\.key --pub-out /out/public/${who}\\.pub`),
      );
    assert.match(script, /> \/out\/public\/nodes\.txt/);
    // Each allow-listed key carries its service's name (the dashboard and logs show it).
    for (const who of ["node-a", "node-b"])
      assert.match(script, new RegExp(`cat /out/public/${who}\\.pub\\)"?\\s+# ${who}"`));

    // Start order: keys complete → coordinator healthy → nodes.
    assert.equal(svc("coordinator").depends_on.keys!.condition, "service_completed_successfully");
    for (const n of ["node-a", "node-b"])
      assert.equal(svc(n).depends_on.coordinator!.condition, "service_healthy");

    // Commands follow the contract.
    const coord = svc("coordinator").command;
    assertFlagsInContract("compose coordinator", coord);
    assert.equal(coord[coord.indexOf("--host") + 1], "0.0.0.0");
    assert.equal(coord[coord.indexOf("--allow") + 1], "/public/nodes.txt");
    const spec = (n: string) => {
      const c = svc(n).command;
      assertFlagsInContract(`compose ${n}`, c);
      assert.equal(c[c.indexOf("--coordinator") + 1], "ws://coordinator:7700");
      assert.equal(c[c.indexOf("--coordinator-key") + 1], "/public/coordinator.pub");
      return c[c.indexOf("--data") + 1];
    };
    assert.equal(spec("node-a"), "spam-assassin:iid:0/2");
    assert.equal(spec("node-b"), "spam-assassin:iid:1/2");

    // Least privilege for keys: each secret-key volume is mounted by the keys job and its owner only, read-only.
    const mounts = (name: string): string[] =>
      (services[name]!.volumes ?? []).map((v) =>
        typeof v === "string" ? v : `${v.source}:${v.target}${v.read_only ? ":ro" : ""}`,
      );
    const owner: Record<string, string> = {
      "coordinator-key": "coordinator",
      "node-a-key": "node-a",
      "node-b-key": "node-b",
    };
    for (const [vol, who] of Object.entries(owner)) {
      const users = Object.keys(services).filter((s) => mounts(s).some((m) => m.startsWith(`${vol}:`)));
      assert.deepEqual(users.sort(), ["keys", who].sort(), `${vol} mounted by ${users}`);
      assert.ok(
        mounts(who).includes(`${vol}:/keys:ro`),
        `${who} must mount ${vol} read-only at /keys: ${mounts(who)}`,
      );
    }
    // The dashboard listens on all container addresses only behind its token, and is published on loopback.
    assert.ok(svc("coordinator").environment?.MEMARC_DASHBOARD_TOKEN, "the dashboard token is passed in");
    const ports = JSON.stringify(svc("coordinator").ports);
    assert.match(ports, /127\.0\.0\.1:7701:7701/);
  });

  it("the GPU override reserves an NVIDIA GPU per node and stays valid", () => {
    const r = compose(["-f", "docker/compose.yaml", "-f", "docker/compose.gpu.yaml", "config"]);
    assert.equal(r.status, 0, r.stderr);
    const cfg = yamlToJson(r.stdout);
    for (const n of ["node-a", "node-b"]) {
      const dev = cfg.services[n]?.deploy?.resources.reservations.devices[0];
      assert.ok(dev, `${n} reserves no device`);
      assert.equal(dev.driver, "nvidia");
      assert.deepEqual(dev.capabilities, ["gpu"]);
    }
    assert.equal(cfg.services.coordinator?.deploy, undefined);
  });

  it("docker-compose really validates: a broken file is refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "memarc-compose-"));
    try {
      const broken = readFileSync(join(DOCKER, "compose.yaml"), "utf8").replace(
        "condition: service_completed_successfully",
        "condition: when_it_feels_like_it",
      );
      writeFileSync(join(dir, "compose.yaml"), broken);
      const r = compose(["-f", join(dir, "compose.yaml"), "config"]);
      assert.notEqual(r.status, 0, "docker-compose accepted an invalid depends_on condition");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
