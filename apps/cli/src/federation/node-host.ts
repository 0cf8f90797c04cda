/** Everything `memarc client` (and each simulated node) runs: data, model factory and NodeRunner. */
import {
  FinetuneLocalModel,
  type LocalModel,
  type ModelSpec,
  type NodePrivacyPolicy,
  NodeRunner,
  type NodeRunnerOptions,
} from "@memarc/federation";
import { bundledEncoderDir } from "@memarc/models";
import type { Identity, Logger } from "@memarc/protocol";
import {
  type Backbone,
  createScheme,
  type FinetuneSchemeKind,
  loadBackbone,
  secureTrainingRandom,
} from "@memarc/train";
import { frozenEngineFor } from "../cli/frozen.js";
import { dpThreadsFor } from "../cli/threads.js";
import type { NodeData } from "./data-spec.js";
import { SCHEMES } from "./run-plan.js";

export interface NodeHostOptions {
  url: string;
  identity: Identity;
  coordinatorKey: Uint8Array;
  joinToken?: string;
  ca?: string;
  data: NodeData;
  /** Backbone directory for transformer schemes; undefined: the bundled backbone, resolved when needed. */
  modelDir?: string;
  backend: string;
  policy: NodePrivacyPolicy;
  accountantPath?: string;
  featureCacheDir?: string;
  /**
   * Threads for the frozen pass and for each DP step (default: all cores for the frozen pass, the
   * main thread alone for the steps; simulated nodes share the cores).
   */
  threads?: number;
  /** Where to report one-off preparation (the engine used, feature progress). */
  log?: (line: string) => void;
  onPrepare?: (done: number, total: number) => void;
  logger: Logger;
  signal?: AbortSignal;
  onEvent?: NodeRunnerOptions["onEvent"];
}

/** Backbones are loaded once per process and shared by every node in it (the simulator runs several). */
const backbones = new Map<string, Promise<Backbone & { dir: string }>>();

export function sharedBackbone(dir: string): Promise<Backbone & { dir: string }> {
  let b = backbones.get(dir);
  if (!b) {
    b = loadBackbone(dir);
    backbones.set(dir, b);
  }
  return b;
}

export function createNodeRunner(o: NodeHostOptions): NodeRunner {
  const model = async ({ scheme, contextLength }: ModelSpec): Promise<LocalModel> => {
    if (!(SCHEMES as readonly string[]).includes(scheme)) {
      throw Object.assign(new Error(`unknown scheme "${scheme}"`), { code: "E_SCHEMA" });
    }
    const kind = scheme as FinetuneSchemeKind;
    const backbone = kind === "logreg" ? null : await sharedBackbone(o.modelDir ?? bundledEncoderDir());
    const fs = createScheme(kind, backbone, { numClasses: o.data.numClasses, seed: 1 });
    const frozen =
      (kind === "side" || kind === "probe") && backbone
        ? (
            await frozenEngineFor(backbone, {
              ...(o.threads ? { threads: o.threads } : {}),
              ...(o.log ? { log: o.log } : {}),
            })
          ).engine
        : undefined;
    const dpThreads = dpThreadsFor(kind, o.threads);
    o.log?.(
      `building the ${kind} model${contextLength === null ? "" : ` at ${contextLength} tokens per example`} (the coordinator's plan)` +
        (dpThreads > 1 ? `; DP steps on ${dpThreads} worker threads` : ""),
    );
    return FinetuneLocalModel.create(fs, o.data.train, o.data.heldOut, {
      // The coordinator's --context, as its plan says (logreg reads no tokens).
      contextLength: contextLength ?? 0,
      ...(o.featureCacheDir ? { featureCacheDir: o.featureCacheDir } : {}),
      ...(frozen ? { frozen } : {}),
      ...(o.onPrepare ? { onPrepare: o.onPrepare } : {}),
      threads: dpThreads,
    });
  };
  return new NodeRunner({
    url: o.url,
    identity: o.identity,
    coordinatorKey: o.coordinatorKey,
    ...(o.joinToken ? { joinToken: o.joinToken } : {}),
    ...(o.ca ? { ca: o.ca } : {}),
    capabilities: {
      backend: o.backend,
      memoryBytes: Math.round(process.memoryUsage().heapTotal),
      schemes: [...SCHEMES],
    },
    model,
    random: secureTrainingRandom(),
    policy: o.policy,
    ...(o.accountantPath ? { accountantPath: o.accountantPath } : {}),
    logger: o.logger,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
  });
}
