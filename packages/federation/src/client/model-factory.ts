/**
 * The model a node builds for the coordinator's plan: the scheme the task names, on the node's
 * backbone, bound to its data at the plan's context length. `memarc client`, each simulated node and
 * the browser node share it; they differ only in where the backbone comes from (a directory, fetched
 * bytes) and in what the host offers (an ONNX frozen pass, DP-step threads, a disk feature cache).
 */
import {
  type Backbone,
  createScheme,
  FINETUNE_SCHEMES,
  type FinetuneSchemeKind,
  type FrozenPass,
  type LabelledTexts,
} from "@memarc/train";
import type { ModelSpec } from "../transport/node-runner.js";
import { FinetuneLocalModel } from "./finetune-local-model.js";
import type { LocalModel } from "./local-model.js";

/** Share of a node's examples held out for the run's federated evaluation (every kind of node). */
export const HELD_OUT_FRACTION = 0.15;

export interface NodeDataset {
  train: LabelledTexts;
  /** The stratified part held out for federated evaluation. */
  heldOut: LabelledTexts;
  numClasses: number;
}

export interface ModelFactoryOptions {
  data: NodeDataset;
  /** The backbone for transformer schemes, asked for only when a task needs one. */
  backbone: () => Promise<Backbone>;
  /** side/probe: an engine for the frozen-backbone pass (without one, tfjs computes it). */
  frozen?: (backbone: Backbone) => Promise<FrozenPass | undefined>;
  /** DP-step threads for `kind` (default 1: the calling thread). */
  threads?: (kind: FinetuneSchemeKind) => number;
  featureCacheDir?: string;
  onPrepare?: (done: number, total: number) => void;
  log?: (line: string) => void;
}

export function finetuneModelFactory(o: ModelFactoryOptions): (spec: ModelSpec) => Promise<LocalModel> {
  return async ({ scheme, contextLength }) => {
    if (!(FINETUNE_SCHEMES as readonly string[]).includes(scheme))
      throw Object.assign(new Error(`unknown scheme "${scheme}"`), { code: "E_SCHEMA" });
    const kind = scheme as FinetuneSchemeKind;
    const backbone = kind === "logreg" ? null : await o.backbone();
    const fs = createScheme(kind, backbone, { numClasses: o.data.numClasses, seed: 1 });
    const frozen = (kind === "side" || kind === "probe") && backbone ? await o.frozen?.(backbone) : undefined;
    const threads = o.threads?.(kind) ?? 1;
    o.log?.(
      `building the ${kind} model${contextLength === null ? "" : ` at ${contextLength} tokens per example`} (the coordinator's plan)` +
        (threads > 1 ? `; DP steps on ${threads} worker threads` : ""),
    );
    return FinetuneLocalModel.create(fs, o.data.train, o.data.heldOut, {
      // The coordinator's --context, as its plan says (logreg reads no tokens).
      contextLength: contextLength ?? 0,
      ...(o.featureCacheDir ? { featureCacheDir: o.featureCacheDir } : {}),
      ...(frozen ? { frozen } : {}),
      ...(o.onPrepare ? { onPrepare: o.onPrepare } : {}),
      threads,
    });
  };
}
