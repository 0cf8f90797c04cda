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

/**
 * The WebGL renderer's name when it is a software rasteriser (SwiftShader, llvmpipe): there WebGL is
 * several times slower than wasm (`memarc bench browser-step`: 4.7× on this project's CI machine),
 * so `auto` skips it. Null when WebGL has a GPU behind it, or cannot be asked.
 */
function softwareWebGl(): string | null {
  // Typed by hand: this package compiles without the DOM library.
  interface Gl {
    getExtension(name: string): { UNMASKED_RENDERER_WEBGL: number } | null;
    getParameter(p: number): unknown;
  }
  const Canvas = (
    globalThis as { OffscreenCanvas?: new (w: number, h: number) => { getContext(k: string): Gl | null } }
  ).OffscreenCanvas;
  try {
    const gl = Canvas ? new Canvas(1, 1).getContext("webgl2") : null;
    const info = gl?.getExtension("WEBGL_debug_renderer_info");
    const renderer = info && gl ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
    return /swiftshader|llvmpipe|software/i.test(renderer) ? renderer : null;
  } catch {
    return null;
  }
}

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
      const software = requested === "auto" && name === "webgl" ? softwareWebGl() : null;
      if (software) {
        skipped.push(`${p.pkg}: software renderer (${software}), slower than wasm`);
        continue;
      }
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
