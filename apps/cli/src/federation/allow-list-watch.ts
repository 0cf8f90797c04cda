/**
 * The operator approves a node by adding its key to the allow-list file (a browser node shows its
 * key on its page): the running coordinator re-reads the file when it changes. A file that no longer
 * parses is reported and ignored — the list in force stays as it was, never emptied by a typo.
 */
import { unwatchFile, watchFile } from "node:fs";
import type { AllowList } from "@memarc/protocol";
import { loadAllowList } from "@memarc/protocol/node";

export interface AllowListWatch {
  stop(): void;
}

export function watchAllowList(
  path: string,
  list: AllowList,
  report: (line: string) => void,
  o: { intervalMs?: number } = {},
): AllowListWatch {
  const onChange = () => {
    let fresh: AllowList;
    try {
      fresh = loadAllowList(path);
    } catch (err) {
      report(
        `allow-list ${path} changed but cannot be used (${(err as Error).message}); keeping the previous list`,
      );
      return;
    }
    const { added, removed } = list.replaceWith(fresh);
    const name = (id: string) => (list.nameOf(id) ? `${id} (${list.nameOf(id)})` : id);
    for (const id of added) report(`allow-list: node ${name(id)} approved`);
    for (const id of removed) report(`allow-list: node ${id} removed (it cannot join again)`);
  };
  watchFile(path, { interval: o.intervalMs ?? 1000 }, onChange);
  return { stop: () => unwatchFile(path, onChange) };
}
