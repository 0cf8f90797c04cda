/**
 * The pretrained backbone shipped with the repository (packages/models/assets/backbone: config.json,
 * model.safetensors, vocab.json, merges.txt, pretrain.json). Resolved relative to this compiled file
 * (dist/assets.js → ../assets/backbone), so it works from any working directory.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ModelError } from "./core/errors.js";

/** Files a backbone directory must hold to be loadable with its tokenizer. */
export const BACKBONE_FILES = ["config.json", "model.safetensors", "vocab.json", "merges.txt"] as const;

/** Where the bundled backbone lives, whether or not it exists yet. */
export function bundledBackbonePath(): string {
  return fileURLToPath(new URL("../assets/backbone", import.meta.url));
}

/** Missing files of a backbone directory (empty when complete). */
export function missingBackboneFiles(dir: string): string[] {
  return BACKBONE_FILES.filter((f) => !existsSync(join(dir, f)));
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
