/**
 * `memarc coordinator --browser-nodes`: the browser node page under /node/ on the dashboard port,
 * with the run's public description (run.json) and the backbone's files (model/…) next to it. None
 * of it is private (settings, the coordinator's public key, public pretrained weights), so none of
 * it needs the dashboard token; people joining from a browser need only the page's address.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BACKBONE_FILES_BY_ARCHITECTURE } from "@memarc/models";
import { readArchitecture } from "@memarc/models/node";
import type { PageAsset } from "@memarc/ops";
import { fingerprintHex, type RunInfo } from "@memarc/web-node/run-info";
import { nodePageCsp, nodePageFiles, type StaticFile } from "./node-page.js";

export interface BrowserNodeRun {
  /** The run.json fields that do not depend on the request (everything but the node URL). */
  info: Omit<RunInfo, "url" | "fingerprint">;
  /** Backbone directory whose files the page fetches (null: the scheme needs none). */
  modelDir: string | null;
  tls: boolean;
  /** The node port, once the coordinator listens on it. */
  nodePort: () => number | null;
}

export const BROWSER_NODE_PATH = "/node/";

/** The coordinator's key as RunInfo shows it. */
export function keyFingerprint(publicKeyBase64: string): string {
  return fingerprintHex(createHash("sha256").update(Buffer.from(publicKeyBase64, "base64")).digest());
}

/** Files of `modelDir` the page may fetch, by name, read once. */
async function modelFiles(
  modelDir: string | null,
): Promise<{ info: RunInfo["model"]; files: Map<string, StaticFile> }> {
  const files = new Map<string, StaticFile>();
  if (!modelDir) return { info: null, files };
  const architecture = await readArchitecture(modelDir);
  const names = BACKBONE_FILES_BY_ARCHITECTURE[architecture];
  for (const name of names) {
    const type = name.endsWith(".json")
      ? "application/json"
      : name.endsWith(".txt")
        ? "text/plain; charset=utf-8"
        : "application/octet-stream";
    files.set(name, { type, body: readFileSync(join(modelDir, name)) });
  }
  return { info: { architecture, files: [...names] }, files };
}

/** The dashboard's `pages` resolver serving the browser node. */
export async function browserNodePages(
  run: BrowserNodeRun,
): Promise<(path: string, r: { host: string }) => PageAsset | undefined> {
  const app = await nodePageFiles();
  const model = await modelFiles(run.modelDir);
  const fingerprint = keyFingerprint(run.info.coordinatorKey);
  /** The node endpoint on the host the browser reached the page at (it may not be 127.0.0.1). */
  const nodeUrl = (host: string): string | null => {
    const port = run.nodePort();
    if (port === null) return null;
    const hostname = host.replace(/:\d+$/, "") || "127.0.0.1";
    return `${run.tls ? "https" : "http"}://${hostname}:${port}`;
  };
  return (path, r) => {
    if (path === "/node")
      return { type: "text/plain", body: new Uint8Array(), redirect: BROWSER_NODE_PATH, public: true };
    if (!path.startsWith(BROWSER_NODE_PATH)) return undefined;
    const name = path.slice(BROWSER_NODE_PATH.length) || "index.html";
    const url = nodeUrl(r.host);
    const headers = { "Content-Security-Policy": nodePageCsp(url), "Cache-Control": "no-cache" };
    if (name === "run.json") {
      if (!url) return undefined;
      const info: RunInfo = { ...run.info, url, fingerprint, model: model.info };
      return {
        type: "application/json; charset=utf-8",
        body: Buffer.from(JSON.stringify(info)),
        headers,
        public: true,
      };
    }
    const f = name.startsWith("model/") ? model.files.get(name.slice("model/".length)) : app.get(name);
    return f ? { ...f, headers, public: true } : undefined;
  };
}
