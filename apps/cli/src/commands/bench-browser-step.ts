/**
 * `memarc bench browser-step`: DP-SGD steps of the side scheme in headless Chromium (a Web Worker,
 * as the browser node trains) against the same steps in this Node process on wasm, with the same
 * engine, the same timing code and the same synthetic batch.
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { BACKBONE_FILES_BY_ARCHITECTURE } from "@memarc/models";
import { bundledBackbonePath, readArchitecture } from "@memarc/models/node";
import { initBackend } from "@memarc/tensor";
import { median, sideDpStepTimes } from "@memarc/train";
import { loadBackbone } from "@memarc/train/node";
import type { BenchReply, BenchRequest } from "@memarc/web-node/bench";
import { chromium } from "playwright-core";
import type { Command } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";
import { bundleForBrowser } from "../web/node-page.js";

const PAGE = `<!doctype html><meta charset="utf-8"><title>memarc bench browser-step</title>
<script type="module">
const w = new Worker("bench-worker.js", { type: "module" });
w.onmessage = (e) => { window.benchReply = e.data; };
w.onerror = (e) => { window.benchReply = { type: "error", message: e.message }; };
w.postMessage(JSON.parse(decodeURIComponent(location.hash.slice(1))));
</script>`;

export const benchBrowserStepCommand: Command = {
  name: "browser-step",
  summary: "one DP side-network step in headless Chromium vs the same step in Node on wasm",
  details:
    "Serves the bundled browser engine and the backbone on 127.0.0.1, runs --steps DP-SGD steps of the\n" +
    "side scheme (after --warmup) in a Web Worker of headless Chromium on the backend it loads\n" +
    "(--backend: auto tries WebGPU, WebGL, wasm), then the same steps in this process on wasm. Prints\n" +
    "both medians, the browser's backend and ratio = browser ms / Node ms. --threads N clips each\n" +
    "step's micro-batches on N Web Workers in the browser and N worker threads in Node.",
  options: {
    model: { type: "string", value: "DIR", description: "backbone directory (default: the bundled GPT-2)" },
    batch: { type: "string", value: "B", description: "examples per step (default 16)" },
    context: { type: "string", value: "T", description: "tokens per example (default 64)" },
    steps: { type: "string", value: "N", description: "measured steps (default 3)" },
    warmup: { type: "string", value: "N", description: "unmeasured steps first (default 1)" },
    backend: {
      type: "string",
      value: "B",
      description: "the browser's backend: auto | webgpu | webgl | wasm | cpu (default auto)",
    },
    threads: {
      type: "string",
      value: "N",
      description:
        "DP-step workers on both sides: Web Workers in Chromium, worker threads in Node (default 1)",
    },
    chromium: { type: "string", value: "PATH", description: "Chromium binary (default /usr/bin/chromium)" },
  },
  async run({ flags, out }) {
    const dir = resolve(flags.string("model") ?? bundledBackbonePath());
    if (!existsSync(join(dir, "config.json"))) throw new UsageError(`--model: no backbone in ${dir}`);
    const executablePath = flags.string("chromium") ?? "/usr/bin/chromium";
    if (!existsSync(executablePath))
      throw new UsageError(`--chromium: ${executablePath} not found (apt-get install chromium)`);
    const architecture = await readArchitecture(dir);
    const files = BACKBONE_FILES_BY_ARCHITECTURE[architecture];
    const request: Omit<BenchRequest, "base"> = {
      model: { architecture, files: [...files] },
      backend: flags.string("backend") ?? "auto",
      batch: flags.int("batch", { min: 1 }) ?? 16,
      context: flags.int("context", { min: 2 }) ?? 64,
      warmup: flags.int("warmup", { min: 0 }) ?? 1,
      steps: flags.int("steps", { min: 1 }) ?? 3,
      threads: flags.int("threads", { min: 1, max: 16 }) ?? 1,
    };

    out.progress("bundling the browser engine");
    const assets = await bundleForBrowser(["bench-worker", "clip-worker"]);
    for (const f of files)
      assets.set(`model/${f}`, { type: "application/octet-stream", body: readFileSync(join(dir, f)) });
    assets.set("index.html", { type: "text/html; charset=utf-8", body: Buffer.from(PAGE) });
    const server = createServer((req, res) => {
      const name = new URL(req.url ?? "/", "http://x").pathname.slice(1) || "index.html";
      const a = assets.get(name);
      res.writeHead(a ? 200 : 404, { "Content-Type": a?.type ?? "text/plain" });
      res.end(a?.body ?? "not found");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    out.progress(
      `Chromium: ${request.steps} DP steps of side, batch ${request.batch}, context ${request.context}`,
    );
    const browser = await chromium.launch({
      executablePath,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
      ],
    });
    let reply: BenchReply;
    let userAgent: string;
    try {
      const page = await browser.newPage();
      userAgent = await page.evaluate("navigator.userAgent");
      await page.goto(`${base}#${encodeURIComponent(JSON.stringify({ ...request, base }))}`);
      await page.waitForFunction("window.benchReply !== undefined", undefined, { timeout: 30 * 60_000 });
      reply = (await page.evaluate("window.benchReply")) as BenchReply;
    } finally {
      await browser.close();
      server.close();
    }
    if (reply.type === "error") throw new Error(`the browser's bench failed: ${reply.message}`);

    out.progress("Node: the same steps on wasm");
    const info = await initBackend({ backend: "wasm", log: null });
    const backbone = await loadBackbone(dir);
    const nodeSteps = await sideDpStepTimes(backbone, request);
    backbone.model.dispose();
    const nodeMs = median(nodeSteps);
    const round = (x: number) => Number(x.toFixed(1));
    const result = {
      scheme: "side",
      browser: {
        backend: reply.backend,
        provider: reply.provider,
        skipped: reply.skipped,
        dpMs: round(reply.dpMs),
        stepMs: reply.stepMs.map(round),
        examplesPerSecond: round((request.batch * 1000) / reply.dpMs),
        userAgent: userAgent!,
      },
      node: {
        backend: info.name,
        dpMs: round(nodeMs),
        stepMs: nodeSteps.map(round),
        examplesPerSecond: round((request.batch * 1000) / nodeMs),
        version: process.version,
      },
      ratio: Number((reply.dpMs / nodeMs).toFixed(3)),
      config: {
        backbone: dir,
        architecture,
        requestedBackend: request.backend,
        batch: request.batch,
        context: request.context,
        threads: request.threads,
        warmupSteps: request.warmup,
        measuredSteps: request.steps,
        clipNorm: 1,
        noiseMultiplier: 1,
        optimizer: "adam",
      },
    };
    out.result(result, () =>
      [
        `side DP step, batch ${request.batch}, context ${request.context} (${dir})`,
        `  Chromium (${reply.backend}): ${result.browser.dpMs} ms  ${result.browser.examplesPerSecond} ex/s`,
        `  Node (${info.name}):       ${result.node.dpMs} ms  ${result.node.examplesPerSecond} ex/s`,
        `  ratio browser / Node: ${result.ratio}`,
      ].join("\n"),
    );
  },
};
