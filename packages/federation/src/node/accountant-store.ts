/** A node's accountant in a JSON file, replaced atomically (crash points for the crash-consistency suite). */
import { existsSync, readFileSync } from "node:fs";
import type { AccountantStore } from "../transport/node-runner.js";
import { writeFileAtomic } from "./atomic-file.js";

export function fileAccountantStore(path: string): AccountantStore {
  return {
    where: path,
    async load() {
      return existsSync(path) ? readFileSync(path, "utf8") : null;
    },
    async save(json) {
      writeFileAtomic(path, json, { duringWrite: "accountant-during" });
    },
  };
}
