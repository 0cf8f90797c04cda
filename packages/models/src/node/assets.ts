/**
 * Pretrained backbones shipped with the repository, resolved relative to this compiled file
 * (dist/node/assets.js → ../../assets/…), so they work from any working directory:
 * - packages/models/assets/backbone: the small GPT-2 pretrained here (config.json,
 *   model.safetensors, vocab.json, merges.txt, pretrain.json);
 * - packages/models/assets/all-minilm-l6-v2: the BERT encoder all-MiniLM-L6-v2 (config.json,
 *   model.safetensors, vocab.txt, …; see its PROVENANCE.md).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BACKBONE_FILES_BY_ARCHITECTURE } from "../backbone-files.js";
import type { Architecture } from "../core/backbone.js";
import { ModelError } from "../core/errors.js";

/** Where the bundled GPT-2 backbone lives, whether or not it exists yet. */
export function bundledBackbonePath(): string {
  return fileURLToPath(new URL("../../assets/backbone", import.meta.url));
}

/** Where the bundled BERT encoder (all-MiniLM-L6-v2) lives. */
export function bundledEncoderPath(): string {
  return fileURLToPath(new URL("../../assets/all-minilm-l6-v2", import.meta.url));
}

/** Missing files of a backbone directory of `architecture` (empty when complete). */
export function missingBackboneFiles(dir: string, architecture: Architecture = "gpt2"): string[] {
  return BACKBONE_FILES_BY_ARCHITECTURE[architecture].filter((f) => !existsSync(join(dir, f)));
}

/** The bundled backbone's directory; throws E_NO_BACKBONE (saying how to create it) when incomplete. */
export function bundledBackboneDir(): string {
  const dir = bundledBackbonePath();
  const missing = missingBackboneFiles(dir);
  if (missing.length) {
    throw new ModelError(
      "E_NO_BACKBONE",
      `the bundled backbone at ${dir} is missing ${missing.join(", ")}; create it with ` +
        `'memarc pretrain --out ${dir}' or pass a GPT-2 directory of your own (--model DIR)`,
    );
  }
  return dir;
}

/** The bundled encoder's directory; throws E_NO_BACKBONE (saying how to restore it) when incomplete. */
export function bundledEncoderDir(): string {
  const dir = bundledEncoderPath();
  const missing = missingBackboneFiles(dir, "bert");
  if (missing.length) {
    throw new ModelError(
      "E_NO_BACKBONE",
      `the bundled encoder at ${dir} is missing ${missing.join(", ")}; restore it with ` +
        "'python3 scripts/vendor-minilm.py' (see its PROVENANCE.md) or pass a model directory (--model DIR)",
    );
  }
  return dir;
}
