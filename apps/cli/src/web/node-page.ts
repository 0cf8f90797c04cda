/**
 * The browser node's files: apps/web-node's page and Worker bundled for browsers by esbuild (once
 * per process, in memory), its HTML and CSS, and tfjs's wasm binaries. The bundle is built with
 * platform "browser" and no Node polyfills, so a `node:` import reaching the browser path fails
 * here, loudly, rather than in someone's tab.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";

export interface StaticFile {
  type: string;
  body: Uint8Array;
}

const JS = "text/javascript; charset=utf-8";
/** tfjs picks one of these at run time (SIMD when the browser has it); the threaded build needs cross-origin isolation, which the page does not ask for. */
const WASM_FILES = ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm"];

/** Where apps/web-node lives (its package.json's directory). */
export function webNodeDir(): string {
  return dirname(createRequire(import.meta.url).resolve("@memarc/web-node/package.json"));
}

let files: Promise<Map<string, StaticFile>> | undefined;

/** index.html, style.css, page.js, worker.js, clip-worker.js and the wasm binaries, by file name. */
export function nodePageFiles(): Promise<Map<string, StaticFile>> {
  files ??= bundle();
  return files;
}

async function bundle(): Promise<Map<string, StaticFile>> {
  const dir = webNodeDir();
  const out = await bundleForBrowser(["page", "worker", "clip-worker"]);
  out.set("index.html", {
    type: "text/html; charset=utf-8",
    body: readFileSync(join(dir, "static", "index.html")),
  });
  out.set("style.css", {
    type: "text/css; charset=utf-8",
    body: readFileSync(join(dir, "static", "style.css")),
  });
  return out;
}

/** apps/web-node's `entries` (dist/<entry>.js) bundled as <entry>.js, plus tfjs's wasm binaries. */
export async function bundleForBrowser(entries: string[]): Promise<Map<string, StaticFile>> {
  const dir = webNodeDir();
  const out = new Map<string, StaticFile>();
  const result = await build({
    entryPoints: Object.fromEntries(entries.map((e) => [e, join(dir, "dist", `${e}.js`)])),
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: true,
    write: false,
    outdir: "/out",
    logLevel: "silent",
    legalComments: "none",
  }).catch((err: { errors?: { text: string; location?: { file: string } | null }[] }) => {
    const first = err.errors?.[0];
    throw Object.assign(
      new Error(
        `cannot bundle the browser node (${first ? `${first.location?.file ?? ""}: ${first.text}` : String(err)})`,
      ),
      { code: "E_BUNDLE" },
    );
  });
  for (const f of result.outputFiles) out.set(f.path.slice("/out/".length), { type: JS, body: f.contents });
  const wasmDir = join(
    dirname(createRequire(join(dir, "package.json")).resolve("@tensorflow/tfjs-backend-wasm")),
    "..",
  );
  for (const name of WASM_FILES) {
    const body = readFileSync(join(wasmDir, "dist", name));
    out.set(name, { type: "application/wasm", body });
  }
  return out;
}

/**
 * The page's Content-Security-Policy: its own origin only, plus the coordinator's node endpoint;
 * wasm may compile ('wasm-unsafe-eval'), nothing may be evaluated from strings, no third party.
 */
export function nodePageCsp(coordinatorUrl: string | null, o: { meta?: boolean } = {}): string {
  const node = coordinatorUrl ? new URL(coordinatorUrl) : null;
  const ws = node ? ` ${node.protocol === "https:" ? "wss" : "ws"}://${node.host} ${node.origin}` : "";
  return (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
    `connect-src 'self'${ws}; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'` +
    // A <meta> policy cannot say who may frame the page (browsers ignore it there, with a warning).
    (o.meta ? "" : "; frame-ancestors 'none'")
  );
}
