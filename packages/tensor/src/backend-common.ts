/**
 * What both backend loaders share (backend.ts for Node, backend.web.ts for browsers, swapped by the
 * package's "browser" map): the request parsing, the error type and the record of the choice.
 */
import * as tf from "@tensorflow/tfjs";

export type BackendRequest = "auto" | "tensorflow" | "wasm" | "cpu" | "webgpu" | "webgl";
/** What Node accepts; browsers also accept webgpu and webgl. */
export const BACKEND_REQUESTS: readonly BackendRequest[] = ["auto", "tensorflow", "wasm", "cpu"];

export interface BackendInfo {
  /** What was asked for. */
  requested: BackendRequest;
  /** tfjs backend name now active: "tensorflow", "wasm", "cpu" (browsers: also "webgpu", "webgl"). */
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

export interface InitOptions {
  /** Defaults to process.env.MEMARC_BACKEND (Node), then "auto". */
  backend?: string;
  /** Called once with a one-line description of the choice (default: stderr or the console). Pass null for silence. */
  log?: ((line: string) => void) | null;
  /** Browsers: the URL prefix the wasm backend loads its .wasm files from (default: next to the script). */
  wasmPaths?: string;
}

export function parseRequest(value: string | undefined, accepted: readonly BackendRequest[]): BackendRequest {
  const v = (value ?? "auto").trim().toLowerCase() || "auto";
  if ((accepted as readonly string[]).includes(v)) return v as BackendRequest;
  throw new BackendError(
    `MEMARC_BACKEND: unknown backend "${value}"; expected one of ${accepted.join(", ")}`,
  );
}

let identityShared = false;

/**
 * tfjs-wasm's Identity copies its input. The engine runs it for every tensor it saves for a backward
 * pass (and for tf.clone) — ~300 copies of [32,64,48]-sized activations per side DP micro-batch.
 * Tensors are immutable and the wasm backend already lets a reshape share its input's memory by
 * reference count, so Identity shares it the same way (as the cpu backend's Identity does). Strings
 * keep tfjs's own kernel.
 */
export function shareIdentityOnWasm(): void {
  if (identityShared) return;
  const own = tf.getKernel("Identity", "wasm");
  if (!own) return;
  tf.unregisterKernel("Identity", "wasm");
  tf.registerKernel({
    kernelName: "Identity",
    backendName: "wasm",
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === "string") return own.kernelFunc(args);
      (args.backend as unknown as { incRef(dataId: unknown): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  identityShared = true;
}

export async function activate(name: string): Promise<boolean> {
  try {
    return (await tf.setBackend(name)) && tf.getBackend() === name;
  } catch {
    return false;
  }
}

export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0] ?? msg;
}

/**
 * Initialise once per process, worker thread or Web Worker. Later calls return the same choice;
 * asking for a different backend afterwards is an error rather than a silent switch, because
 * tensors already created would live on the old one.
 */
export function onceBackend(select: (r: BackendRequest) => Promise<BackendInfo>) {
  let active: BackendInfo | undefined;
  let pending: Promise<BackendInfo> | undefined;
  return {
    current: () => active,
    async init(requested: BackendRequest, log: ((line: string) => void) | null): Promise<BackendInfo> {
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
      if (active.name === "wasm") shareIdentityOnWasm();
      log?.(`[memarc] backend: ${active.name} (${active.provider}; requested ${requested})`);
      return active;
    },
  };
}
