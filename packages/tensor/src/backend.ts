/**
 * Compute backend selection under Node (browsers load backend.web.ts instead, through the package's
 * "browser" map).
 *
 * `MEMARC_BACKEND=auto|tensorflow|wasm|cpu` (or an explicit argument) chooses where tensors live.
 * `auto` prefers native TensorFlow (CUDA build first, then the CPU build), then wasm (SIMD, one
 * thread under Node), then the pure-JS cpu backend. An *explicitly* requested backend that cannot
 * load is an error: silently training on a 30× slower backend is worse than failing loudly.
 */
import { createRequire } from "node:module";
import {
  activate,
  BACKEND_REQUESTS,
  BackendError,
  type BackendInfo,
  type BackendRequest,
  firstLine,
  type InitOptions,
  onceBackend,
  parseRequest,
} from "./backend-common.js";

export { BACKEND_REQUESTS, BackendError, type BackendInfo, type BackendRequest, type InitOptions };

export function parseBackendRequest(value: string | undefined): BackendRequest {
  return parseRequest(value, BACKEND_REQUESTS);
}

/** Loading a native binding registers the "tensorflow" backend with tfjs as a side effect. */
function loadNative(pkg: string): void {
  // createRequire: the native packages are CommonJS and optional; a static import would fail to link.
  createRequire(import.meta.url)(pkg);
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

const backend = onceBackend(select);

/**
 * Initialise the compute backend once per process (or worker thread); see onceBackend for why a
 * later different request is an error.
 */
export async function initBackend(options: InitOptions = {}): Promise<BackendInfo> {
  const requested = parseBackendRequest(options.backend ?? process.env.MEMARC_BACKEND);
  const log = options.log === undefined ? (l: string) => process.stderr.write(`${l}\n`) : options.log;
  return backend.init(requested, log);
}

export function currentBackend(): BackendInfo | undefined {
  return backend.current();
}
