/**
 * One frozen-pass engine per (model directory, thread count) per process: ONNX Runtime when it
 * loads (MEMARC_INFERENCE=auto|onnx|tfjs), shared by every node a process runs.
 */
import { type EngineChoice, selectFrozenEngine } from "@memarc/inference";
import type { Backbone } from "@memarc/train";

const engines = new Map<string, Promise<EngineChoice>>();

export function frozenEngineFor(
  backbone: Backbone & { dir: string },
  o: { threads?: number; log?: (line: string) => void } = {},
): Promise<EngineChoice> {
  const key = `${backbone.dir}\u0000${o.threads ?? "all"}`;
  let e = engines.get(key);
  if (!e) {
    e = selectFrozenEngine({
      dir: backbone.dir,
      model: backbone.model,
      ...(o.threads ? { threads: o.threads } : {}),
    }).then((choice) => {
      o.log?.(
        `frozen passes: ${choice.engine.name} (${choice.engine.threads} thread(s))` +
          (choice.fallbackReason ? `; ${choice.fallbackReason}` : ""),
      );
      return choice;
    });
    engines.set(key, e);
  }
  return e;
}
