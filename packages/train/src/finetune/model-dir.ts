/**
 * A fine-tuned classifier as a directory people keep, copy and load (`finetune --out DIR`, then
 * `predict` / `eval --model DIR`):
 *   memarc.json            what it is — scheme and its options, class names, context, the backbone it
 *                          was trained on (by reference) with its weights' SHA-256, the privacy
 *                          guarantee (ε, δ, unit, accountant, σ, q, steps) and how it was made
 *   trainable.safetensors  the trained part, F32: side network / adapters / LoRA factors and the head,
 *                          or the logistic regression's weights
 * The frozen backbone is referenced, not copied (45 MB for the bundled encoder): by name for the
 * bundled one, by absolute path otherwise. On load its weights' SHA-256 must match, so a model is
 * never silently run on a different backbone. Loading reproduces the saved model's logits exactly.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ModelError, readSafetensors, writeSafetensors } from "@memarc/models";
import { bundledEncoderDir } from "@memarc/models/node";
import { loadBackbone } from "../node/backbone-dir.js";
import type { Backbone } from "./backbone.js";
import { weightsDigest } from "./feature-cache.js";
import {
  type CreateSchemeOptions,
  createScheme,
  type FinetuneScheme,
  type FinetuneSchemeKind,
} from "./schemes.js";

export const MODEL_MANIFEST = "memarc.json";
export const MODEL_WEIGHTS = "trainable.safetensors";
const BUNDLED_ENCODER = "all-minilm-l6-v2";

export interface ModelPrivacy {
  /** ε spent on the unit below. */
  epsilon: number;
  delta: number;
  unit: "example" | "user";
  accountant: "rdp" | "pld";
  /** Single-node DP-SGD (finetune): its mechanism. */
  dpSgd?: { noiseMultiplier: number; sampleRate: number; steps: number; clipNorm: number };
  /** A federated run: rounds completed (every node's mechanism is in the coordinator's ledger). */
  federated?: { rounds: number; strategy: string };
}

export interface ModelManifest {
  format: "memarc-classifier";
  version: 1;
  scheme: FinetuneSchemeKind;
  schemeOptions: Omit<CreateSchemeOptions, "numClasses" | "seed">;
  classNames: string[];
  /** Tokens per example the model was trained with (null for logreg). */
  contextLength: number | null;
  backbone: { bundled: string } | { path: string } | null;
  backboneSha256: string | null;
  privacy: ModelPrivacy | null;
  weightsSha256: string;
  createdAt: string;
  /** e.g. "memarc finetune --dataset spam-assassin --scheme side …" */
  createdBy: string;
}

export interface SaveModelOptions {
  scheme: FinetuneScheme;
  schemeOptions: ModelManifest["schemeOptions"];
  classNames: string[];
  contextLength: number | null;
  /** Directory the backbone was loaded from (null for logreg). */
  backboneDir: string | null;
  privacy: ModelPrivacy | null;
  createdBy: string;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
/** Hashed once per process (a coordinator exports a model every round). */
const backboneWeightsSha = (dir: string) => weightsDigest(join(dir, "model.safetensors")).toString("hex");

export function saveModelDir(dir: string, o: SaveModelOptions): ModelManifest {
  mkdirSync(dir, { recursive: true });
  const tensors = Object.fromEntries(
    Object.entries(o.scheme.exportTrainable()).map(([k, v]) => [k, { shape: [v.length], data: v }]),
  );
  const bytes = writeSafetensors(tensors, { format: "memarc-trainable", scheme: o.scheme.kind });
  const bundled = o.backboneDir !== null && resolve(o.backboneDir) === resolve(bundledEncoderDir());
  const manifest: ModelManifest = {
    format: "memarc-classifier",
    version: 1,
    scheme: o.scheme.kind,
    schemeOptions: o.schemeOptions,
    classNames: o.classNames,
    contextLength: o.contextLength,
    backbone:
      o.backboneDir === null
        ? null
        : bundled
          ? { bundled: BUNDLED_ENCODER }
          : { path: resolve(o.backboneDir) },
    backboneSha256: o.backboneDir === null ? null : backboneWeightsSha(o.backboneDir),
    privacy: o.privacy,
    weightsSha256: sha256(bytes),
    createdAt: new Date().toISOString(),
    createdBy: o.createdBy,
  };
  // Weights first, then the manifest naming their SHA-256, each replaced by rename: a reader (or a
  // crash) in between sees a mismatch that loadModelDir refuses, never a silently mixed model.
  replaceFile(join(dir, MODEL_WEIGHTS), bytes);
  replaceFile(join(dir, MODEL_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function replaceFile(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

const bad = (dir: string, why: string) => new ModelError("E_MODEL_DIR", `${dir}: ${why}`);

export function readModelManifest(dir: string): ModelManifest {
  const path = join(dir, MODEL_MANIFEST);
  if (!existsSync(path))
    throw bad(dir, `no ${MODEL_MANIFEST}: not a model directory (write one with finetune --out DIR)`);
  let m: ModelManifest;
  try {
    m = JSON.parse(readFileSync(path, "utf8")) as ModelManifest;
  } catch (err) {
    throw bad(dir, `${MODEL_MANIFEST} is not JSON (${(err as Error).message})`);
  }
  if (m?.format !== "memarc-classifier" || m.version !== 1)
    throw bad(dir, `${MODEL_MANIFEST} is not a memarc-classifier manifest of version 1`);
  if (!Array.isArray(m.classNames) || m.classNames.length < 2)
    throw bad(dir, `${MODEL_MANIFEST}: classNames must list at least two classes`);
  return m;
}

/** The backbone directory a manifest refers to. */
function backboneDirOf(dir: string, m: ModelManifest): string | null {
  if (m.backbone === null) return null;
  if ("bundled" in m.backbone) {
    if (m.backbone.bundled !== BUNDLED_ENCODER)
      throw bad(dir, `unknown bundled backbone "${m.backbone.bundled}"`);
    return bundledEncoderDir();
  }
  return m.backbone.path;
}

export interface LoadedModel {
  manifest: ModelManifest;
  scheme: FinetuneScheme;
  backbone: (Backbone & { dir: string }) | null;
}

/** Load a model directory: backbone (checked against its SHA-256), scheme, trained weights. */
export async function loadModelDir(dir: string): Promise<LoadedModel> {
  const manifest = readModelManifest(dir);
  const weightsPath = join(dir, MODEL_WEIGHTS);
  if (!existsSync(weightsPath)) throw bad(dir, `missing ${MODEL_WEIGHTS}`);
  const bytes = readFileSync(weightsPath);
  if (sha256(bytes) !== manifest.weightsSha256)
    throw bad(dir, `${MODEL_WEIGHTS} does not match the SHA-256 in ${MODEL_MANIFEST}: corrupted or replaced`);
  const backboneDir = backboneDirOf(dir, manifest);
  let backbone: LoadedModel["backbone"] = null;
  if (backboneDir !== null) {
    if (backboneWeightsSha(backboneDir) !== manifest.backboneSha256)
      throw bad(
        dir,
        `the backbone at ${backboneDir} is not the one this model was trained on (its weights' SHA-256 differs)`,
      );
    backbone = await loadBackbone(backboneDir);
  }
  const scheme = createScheme(manifest.scheme, backbone, {
    numClasses: manifest.classNames.length,
    ...manifest.schemeOptions,
  });
  const weights: Record<string, Float32Array> = {};
  for (const [k, t] of readSafetensors(bytes).tensors) weights[k] = t.data;
  scheme.importTrainable(weights);
  return { manifest, scheme, backbone };
}
