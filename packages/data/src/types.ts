/** One labelled text example, as produced by every loader in this package. */
export interface Example {
  /** Stable identifier: "<group>/<file number>" for SpamAssassin, "<file>:<line>" for user data. */
  id: string;
  /** Provenance group (SpamAssassin group, or the user file's base name). Used by `natural`. */
  group: string;
  /** Class index into the dataset's `classNames`. */
  label: number;
  subject: string;
  body: string;
  /** Model input: subject + "\n" + body, normalised and truncated. */
  text: string;
}

/** The trainer's view of a dataset: parallel arrays plus class metadata. */
export interface Dataset {
  name: string;
  texts: string[];
  labels: Int32Array;
  numClasses: number;
  classNames: string[];
  /** Parallel to `texts`: example ids (for tracing and leak checks). */
  ids: string[];
  /** Parallel to `texts`: provenance groups (for the `natural` partitioner). */
  groups: string[];
}

export function toDataset(name: string, examples: readonly Example[], classNames: string[]): Dataset {
  const labels = new Int32Array(examples.length);
  examples.forEach((e, i) => {
    labels[i] = e.label;
  });
  return {
    name,
    texts: examples.map((e) => e.text),
    labels,
    numClasses: classNames.length,
    classNames: classNames.slice(),
    ids: examples.map((e) => e.id),
    groups: examples.map((e) => e.group),
  };
}

/**
 * Model input length in characters, for the bundled corpus and users' files alike: ~128 GPT-2 tokens of
 * English is ~500–600 chars; 1000 leaves headroom for dense text.
 */
export const DEFAULT_MAX_CHARS = 1000;
