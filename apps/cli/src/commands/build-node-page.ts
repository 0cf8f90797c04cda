import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";
import { nodePageCsp, nodePageFiles } from "../web/node-page.js";

/** run.json and the model files a coordinator serves under /node/, fetched for a static copy. */
async function fetchRun(
  from: URL,
): Promise<{ runJson: Uint8Array; url: string; model: Map<string, Uint8Array> }> {
  const get = async (path: string) => {
    const u = new URL(path, from);
    const r = await fetch(u).catch((err: Error) => {
      throw new UsageError(`--from: cannot fetch ${u.href} (${err.message})`);
    });
    if (!r.ok) throw new UsageError(`--from: ${u.href} answered HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  };
  const runJson = await get("run.json");
  const info = JSON.parse(new TextDecoder().decode(runJson)) as {
    url: string;
    model: { files: string[] } | null;
  };
  const model = new Map<string, Uint8Array>();
  for (const f of info.model?.files ?? []) model.set(f, await get(`model/${f}`));
  return { runJson, url: info.url, model };
}

export const buildNodePageCommand: Command = {
  name: "build-node-page",
  summary: "write the browser node page as static files, to host anywhere",
  details:
    "Bundles the browser node (the page, its training Web Worker, tfjs's wasm binaries) into DIR. The\n" +
    "page reads run.json and model/… next to itself: --from URL copies them from a coordinator started\n" +
    "with --browser-nodes (its /node/ address) and pins that coordinator's endpoint in the page's\n" +
    "Content-Security-Policy. Serve DIR over HTTPS with the header of the same name for the Worker too.\n\n" +
    "Example: memarc build-node-page --out site --from http://127.0.0.1:7701/node/ --json",
  options: {
    out: { type: "string", value: "DIR", description: "directory to write (created if missing)" },
    from: {
      type: "string",
      value: "URL",
      description: "a coordinator's /node/ address: also copy its run.json and model files",
    },
  },
  async run({ flags, out }) {
    const dir = resolve(flags.requireString("out"));
    const fromFlag = flags.string("from");
    let from: URL | null = null;
    if (fromFlag) {
      try {
        from = new URL(fromFlag.endsWith("/") ? fromFlag : `${fromFlag}/`);
      } catch {
        throw new UsageError(`--from: not a URL: "${fromFlag}"`);
      }
    }
    out.progress("bundling the browser node");
    const files = await nodePageFiles();
    const run = from ? await fetchRun(from) : null;
    mkdirSync(join(dir, "model"), { recursive: true });
    const written: string[] = [];
    const write = (name: string, body: Uint8Array) => {
      writeFileSync(join(dir, name), body);
      written.push(name);
    };
    for (const [name, f] of files) {
      if (name !== "index.html") write(name, f.body);
    }
    // A static host may not send headers: the policy also goes into the page itself.
    const csp = nodePageCsp(run?.url ?? null, { meta: true });
    const html = new TextDecoder()
      .decode(files.get("index.html")!.body)
      .replace("<head>", `<head>\n    <meta http-equiv="Content-Security-Policy" content="${csp}" />`);
    write("index.html", new TextEncoder().encode(html));
    if (run) {
      write("run.json", run.runJson);
      for (const [name, body] of run.model) write(`model/${name}`, body);
    }
    const bytes = written.reduce(
      (n, f) => n + (f.startsWith("model/") ? run!.model.get(f.slice(6))!.length : 0),
      0,
    );
    out.result(
      {
        dir,
        files: written.sort(),
        contentSecurityPolicy: csp,
        coordinator: run?.url ?? null,
        modelBytes: bytes,
      },
      () =>
        `wrote ${written.length} files to ${dir}` +
        (run
          ? ` (run.json and the model from ${from!.href})`
          : " (add run.json and model/ from a coordinator: --from URL)"),
    );
  },
};
