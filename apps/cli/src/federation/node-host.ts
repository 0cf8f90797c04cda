/** Everything `memarc client` (and each simulated node) runs: data, model factory and NodeRunner. */
import {
  finetuneModelFactory,
  type NodePrivacyPolicy,
  NodeRunner,
  type NodeRunnerOptions,
} from "@memarc/federation";
import { fileAccountantStore } from "@memarc/federation/node";
import { bundledEncoderDir } from "@memarc/models/node";
import type { Identity, Logger } from "@memarc/protocol";
import { plainAgainstTls } from "@memarc/protocol/node";
import { type Backbone, secureTrainingRandom } from "@memarc/train";
import { loadBackbone } from "@memarc/train/node";
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
  const backbone = () => sharedBackbone(o.modelDir ?? bundledEncoderDir());
  const model = finetuneModelFactory({
    data: o.data,
    backbone,
    frozen: async () =>
      (
        await frozenEngineFor(await backbone(), {
          ...(o.threads ? { threads: o.threads } : {}),
          ...(o.log ? { log: o.log } : {}),
        })
      ).engine,
    threads: (kind) => dpThreadsFor(kind, o.threads),
    ...(o.featureCacheDir ? { featureCacheDir: o.featureCacheDir } : {}),
    ...(o.onPrepare ? { onPrepare: o.onPrepare } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
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
    ...(o.accountantPath ? { accountantStore: fileAccountantStore(o.accountantPath) } : {}),
    probeTls: plainAgainstTls,
    logger: o.logger,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
  });
}
