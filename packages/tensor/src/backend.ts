/**
 * Compute backend selection.
 *
 * `MEMARC_BACKEND=auto|tensorflow|wasm|cpu` (or an explicit argument) chooses where tensors live.
 * `auto` prefers native TensorFlow (CUDA build first, then the CPU build), then wasm (SIMD, one
 * thread under Node), then the pure-JS cpu backend. An *explicitly* requested backend that cannot
 * load is an error: silently training on a 30× slower backend is worse than failing loudly.
 */
import { createRequire } from "node:module";
import * as tf from "@tensorflow/tfjs";

export type BackendRequest = "auto" | "tensorflow" | "wasm" | "cpu";
export const BACKEND_REQUESTS: readonly BackendRequest[] = ["auto", "tensorflow", "wasm", "cpu"];

export interface BackendInfo {
  /** What was asked for. */
  requested: BackendRequest;
  /** tfjs backend name now active: "tensorflow", "wasm" or "cpu". */
  name: string;
  /** Which package provided it, e.g. "@tensorflow/tfjs-node-gpu". */
  provider: string;
  /** Why earlier candidates were skipped (auto only). */
  skipped: string[];
}

export class BackendError extends Error {
  readonly code = "E_BACKEND";
  constructor(message: string) {
    super(message);
    this.name = "BackendError";
  }
}

const require = createRequire(import.meta.url);
let active: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

export function parseBackendRequest(value: string | undefined): BackendRequest {
  const v = (value ?? "auto").trim().toLowerCase() || "auto";
  if ((BACKEND_REQUESTS as readonly string[]).includes(v)) return v as BackendRequest;
  throw new BackendError(
    `MEMARC_BACKEND: unknown backend "${value}"; expected one of ${BACKEND_REQUESTS.join(", ")}`,
  );
}

/** Loading a native binding registers the "tensorflow" backend with tfjs as a side effect. */
function loadNative(pkg: string): void {
  // createRequire: the native packages are CommonJS and optional; a static import would fail to link.
  require(pkg);
}

async function activate(name: string): Promise<boolean> {
  try {
    return (await tf.setBackend(name)) && tf.getBackend() === name;
  } catch {
    return false;
  }
}

async function tryTensorflow(skipped: string[]): Promise<string | undefined> {
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      loadNative(pkg);
    } catch (err) {
      skipped.push(`${pkg}: ${firstLine(err)}`);
      continue;
    }
    if (await activate("tensorflow")) return pkg;
    skipped.push(`${pkg}: loaded but the "tensorflow" backend did not initialise`);
  }
  return undefined;
}

async function tryWasm(skipped: string[]): Promise<string | undefined> {
  try {
    await import("@tensorflow/tfjs-backend-wasm");
  } catch (err) {
    skipped.push(`@tensorflow/tfjs-backend-wasm: ${firstLine(err)}`);
    return undefined;
  }
  if (await activate("wasm")) return "@tensorflow/tfjs-backend-wasm";
  skipped.push("@tensorflow/tfjs-backend-wasm: setBackend('wasm') failed");
  return undefined;
}

async function select(requested: BackendRequest): Promise<BackendInfo> {
  const skipped: string[] = [];
  const done = (name: string, provider: string): BackendInfo => ({ requested, name, provider, skipped });
  if (requested === "tensorflow" || requested === "auto") {
    const pkg = await tryTensorflow(skipped);
    if (pkg) return done("tensorflow", pkg);
    if (requested === "tensorflow") {
      throw new BackendError(
        `MEMARC_BACKEND=tensorflow requested, but no native TensorFlow binding loads (${skipped.join("; ")}). ` +
          "Install @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node, or choose wasm.",
      );
    }
  }
  if (requested === "wasm" || requested === "auto") {
    const pkg = await tryWasm(skipped);
    if (pkg) return done("wasm", pkg);
    if (requested === "wasm")
      throw new BackendError(`MEMARC_BACKEND=wasm requested but unavailable: ${skipped.join("; ")}`);
  }
  if (await activate("cpu")) return done("cpu", "@tensorflow/tfjs (pure JS)");
  throw new BackendError(`no tfjs backend could be initialised (${skipped.join("; ")})`);
}

export interface InitOptions {
  /** Defaults to process.env.MEMARC_BACKEND, then "auto". */
  backend?: string;
  /** Called once with a one-line description of the choice (default: stderr). Pass null for silence. */
  log?: ((line: string) => void) | null;
}

/**
 * Initialise the compute backend once per process (or worker thread). Later calls return the same
 * choice; asking for a different backend afterwards is an error rather than a silent switch,
 * because tensors already created would live on the old one.
 */
export async function initBackend(options: InitOptions = {}): Promise<BackendInfo> {
  const requested = parseBackendRequest(options.backend ?? process.env.MEMARC_BACKEND);
  if (active || pending) {
    const info = active ?? (await pending!);
    if (requested !== "auto" && requested !== info.requested && requested !== info.name) {
      throw new BackendError(
        `backend already initialised as "${info.name}"; cannot switch to "${requested}"`,
      );
    }
    return info;
  }
  pending = select(requested);
  try {
    active = await pending;
  } finally {
    pending = undefined;
  }
  const log = options.log === undefined ? (l: string) => process.stderr.write(`${l}\n`) : options.log;
  log?.(`[memarc] backend: ${active.name} (${active.provider}; requested ${requested})`);
  return active;
}

export function currentBackend(): BackendInfo | undefined {
  return active;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0] ?? msg;
}
