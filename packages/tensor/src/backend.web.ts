/**
 * Compute backend selection in a browser (page or Web Worker); the package's "browser" map puts
 * this file in place of backend.ts, so every `initBackend` call site stays the same.
 *
 * `auto` tries WebGPU, then WebGL, then wasm, then the pure-JS cpu backend, and reports which one
 * loaded (and why the others did not). An explicitly requested backend that cannot load is an
 * error, as under Node.
 */
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import {
  activate,
  BackendError,
  type BackendInfo,
  type BackendRequest,
  firstLine,
  type InitOptions,
  onceBackend,
  parseRequest,
} from "./backend-common.js";

export { BackendError, type BackendInfo, type BackendRequest, type InitOptions };

/** What a browser accepts (native TensorFlow does not exist there). */
export const BACKEND_REQUESTS: readonly BackendRequest[] = ["auto", "webgpu", "webgl", "wasm", "cpu"];

export function parseBackendRequest(value: string | undefined): BackendRequest {
  return parseRequest(value, BACKEND_REQUESTS);
}

const PROVIDERS: Record<string, { pkg: string; load: () => Promise<unknown> }> = {
  webgpu: { pkg: "@tensorflow/tfjs-backend-webgpu", load: () => import("@tensorflow/tfjs-backend-webgpu") },
  // The WebGL and cpu backends register with @tensorflow/tfjs itself.
  webgl: { pkg: "@tensorflow/tfjs-backend-webgl", load: async () => undefined },
  wasm: { pkg: "@tensorflow/tfjs-backend-wasm", load: () => import("@tensorflow/tfjs-backend-wasm") },
  cpu: { pkg: "@tensorflow/tfjs (pure JS)", load: async () => undefined },
};

function selector(wasmPaths: string | undefined) {
  return async (requested: BackendRequest): Promise<BackendInfo> => {
    if (requested === "tensorflow")
      throw new BackendError(
        "native TensorFlow does not run in a browser; choose webgpu, webgl, wasm or cpu",
      );
    const order = requested === "auto" ? ["webgpu", "webgl", "wasm", "cpu"] : [requested];
    const skipped: string[] = [];
    for (const name of order) {
      const p = PROVIDERS[name]!;
      try {
        await p.load();
        if (name === "wasm" && wasmPaths) setWasmPaths(wasmPaths);
        if (await activate(name)) return { requested, name, provider: p.pkg, skipped };
        skipped.push(`${p.pkg}: setBackend('${name}') failed`);
      } catch (err) {
        skipped.push(`${p.pkg}: ${firstLine(err)}`);
      }
    }
    throw new BackendError(`no tfjs backend could be initialised (${skipped.join("; ")})`);
  };
}

let backend: ReturnType<typeof onceBackend> | undefined;

export async function initBackend(options: InitOptions = {}): Promise<BackendInfo> {
  const requested = parseBackendRequest(options.backend);
  backend ??= onceBackend(selector(options.wasmPaths));
  const log = options.log === undefined ? (l: string) => console.info(l) : options.log;
  return backend.init(requested, log);
}

export function currentBackend(): BackendInfo | undefined {
  return backend?.current();
}
