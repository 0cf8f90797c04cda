import { CsvSyntaxError, parseCsv } from "./csv.js";
import { UserDataError } from "./errors.js";
import { normalizeText, truncate } from "./mail/clean.js";
import { type Dataset, DEFAULT_MAX_CHARS, type Example, toDataset } from "./types.js";

export type UserDataFormat = "jsonl" | "csv";

export interface UserDataOptions {
  /** Default: from the extension (.jsonl/.ndjson → jsonl, .csv → csv). */
  format?: UserDataFormat;
  /**
   * Class names, index = label id. With it, string labels must be one of these names and
   * integer labels must be < classes.length ("unknown label" otherwise). Without it, string
   * labels define the classes in sorted order (e.g. ham=0, spam=1) and integer labels 0…max
   * are named "0", "1", ….
   */
  classes?: string[];
  /**
   * Records may omit "label" (for prediction): a file without any label gets label -1 on every
   * example and `options.classes` (or none) as its classes. Either every record has a label or none.
   */
  labelsOptional?: boolean;
  /** Reject files larger than this (default 100 MiB). */
  maxFileBytes?: number;
  /** Reject texts longer than this many characters (default 100,000). */
  maxTextChars?: number;
  /** Model input is truncated to this many characters (default DEFAULT_MAX_CHARS = 1000). */
  maxChars?: number;
}

export interface UserData {
  name: string;
  examples: Example[];
  classNames: string[];
}

interface RawRow {
  line: number;
  text: string;
  /** null: no label (only with labelsOptional). */
  label: string | number | null;
}

/** Fewest examples a node may train on (CLI and browser nodes alike). */
export const MIN_NODE_EXAMPLES = 10;

export const DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024;
const DEFAULT_MAX_TEXT_CHARS = 100_000;
const MAX_CLASSES = 1000;

/** Parse a user's labelled text file from its contents. `file` is used in error messages and ids. */
export function parseUserData(file: string, content: string, options: UserDataOptions = {}): UserData {
  const format = options.format ?? formatFromName(file);
  const maxTextChars = options.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS;
  const maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
  const optional = options.labelsOptional ?? false;
  const rows = format === "jsonl" ? readJsonl(file, content, optional) : readCsv(file, content, optional);
  if (rows.length === 0) throw new UserDataError("E_DATA_FORMAT", file, undefined, "no examples in file");
  for (const r of rows) {
    if (r.text.trim() === "") throw new UserDataError("E_DATA_FORMAT", file, r.line, 'empty "text"');
    if (r.text.length > maxTextChars) {
      throw new UserDataError(
        "E_DATA_LIMIT",
        file,
        r.line,
        `"text" is ${r.text.length} characters, more than the limit of ${maxTextChars}`,
      );
    }
  }
  const unlabelled = rows.filter((r) => r.label === null);
  if (unlabelled.length > 0 && unlabelled.length < rows.length)
    throw new UserDataError(
      "E_DATA_FORMAT",
      file,
      unlabelled[0]!.line,
      'some records have a "label" and this one has none: give every record a label, or none',
    );
  const { classNames, ids } =
    unlabelled.length > 0
      ? { classNames: options.classes?.slice() ?? [], ids: rows.map(() => -1) }
      : mapLabels(file, rows, options.classes);
  const group = basename(file, extname(file));
  const examples = rows.map((r, i): Example => {
    const body = normalizeText(r.text);
    return {
      id: `${basename(file)}:${r.line}`,
      group,
      label: ids[i]!,
      subject: "",
      body,
      text: truncate(body, maxChars),
    };
  });
  return { name: group, examples, classNames };
}

export function userDataToDataset(u: UserData): Dataset {
  return toDataset(u.name, u.examples, u.classNames);
}

export function formatFromName(file: string): UserDataFormat {
  const ext = extname(file).toLowerCase();
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  if (ext === ".csv") return "csv";
  throw new UserDataError(
    "E_DATA_FORMAT",
    file,
    undefined,
    `unknown file type "${ext}": use .jsonl or .csv (or pass format)`,
  );
}

function checkLabel(file: string, line: number, label: unknown, optional = false): string | number | null {
  if (label === undefined && optional) return null;
  if (label === undefined) throw new UserDataError("E_DATA_FORMAT", file, line, 'missing field "label"');
  if (typeof label === "number") {
    if (!Number.isInteger(label) || label < 0) {
      throw new UserDataError(
        "E_DATA_FORMAT",
        file,
        line,
        `"label" must be an integer ≥ 0 or a class name, got ${label}`,
      );
    }
    return label;
  }
  if (typeof label === "string") {
    if (label.trim() === "") throw new UserDataError("E_DATA_FORMAT", file, line, 'empty "label"');
    return label.trim();
  }
  throw new UserDataError(
    "E_DATA_FORMAT",
    file,
    line,
    `"label" must be a number or a string, got ${label === null ? "null" : typeof label}`,
  );
}

function readJsonl(file: string, content: string, labelsOptional: boolean): RawRow[] {
  const rows: RawRow[] = [];
  const lines = content.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const src = (i === 0 ? lines[i]!.replace(/^\ufeff/, "") : lines[i]!).trim();
    if (src === "") continue;
    let obj: unknown;
    try {
      obj = JSON.parse(src);
    } catch (e) {
      throw new UserDataError("E_DATA_FORMAT", file, lineNo, `malformed JSON: ${(e as Error).message}`);
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      throw new UserDataError(
        "E_DATA_FORMAT",
        file,
        lineNo,
        'each line must be a JSON object like {"text": "...", "label": 0}',
      );
    }
    const rec = obj as Record<string, unknown>;
    if (!("text" in rec)) throw new UserDataError("E_DATA_FORMAT", file, lineNo, 'missing field "text"');
    if (typeof rec.text !== "string") {
      throw new UserDataError(
        "E_DATA_FORMAT",
        file,
        lineNo,
        `"text" must be a string, got ${rec.text === null ? "null" : typeof rec.text}`,
      );
    }
    rows.push({ line: lineNo, text: rec.text, label: checkLabel(file, lineNo, rec.label, labelsOptional) });
  }
  return rows;
}

function readCsv(file: string, content: string, labelsOptional: boolean): RawRow[] {
  let records: ReturnType<typeof parseCsv>;
  try {
    records = parseCsv(content);
  } catch (e) {
    if (e instanceof CsvSyntaxError) throw new UserDataError("E_DATA_FORMAT", file, e.line, e.message);
    throw e;
  }
  const header = records[0];
  if (!header)
    throw new UserDataError("E_DATA_FORMAT", file, 1, 'empty file: expected a header line with "text,label"');
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const ti = names.indexOf("text");
  const li = names.indexOf("label");
  for (const [col, idx] of [
    ["text", ti],
    ["label", li],
  ] as const) {
    if (idx < 0 && !(col === "label" && labelsOptional)) {
      throw new UserDataError(
        "E_DATA_FORMAT",
        file,
        header.line,
        `missing column "${col}" in header (found: ${header.fields.join(", ")})`,
      );
    }
  }
  const rows: RawRow[] = [];
  for (const r of records.slice(1)) {
    if (r.fields.length !== header.fields.length) {
      throw new UserDataError(
        "E_DATA_FORMAT",
        file,
        r.line,
        `expected ${header.fields.length} fields like the header, found ${r.fields.length}`,
      );
    }
    if (li < 0) {
      rows.push({ line: r.line, text: r.fields[ti]!, label: null });
      continue;
    }
    const rawLabel = r.fields[li]!.trim();
    const label = /^\d+$/.test(rawLabel) ? Number(rawLabel) : rawLabel;
    rows.push({ line: r.line, text: r.fields[ti]!, label: checkLabel(file, r.line, label) });
  }
  return rows;
}

function mapLabels(
  file: string,
  rows: RawRow[],
  classes?: string[],
): { classNames: string[]; ids: number[] } {
  const firstNumeric = rows.find((r) => typeof r.label === "number");
  const firstString = rows.find((r) => typeof r.label === "string");
  if (firstNumeric && firstString) {
    const later = firstNumeric.line > firstString.line ? firstNumeric : firstString;
    throw new UserDataError(
      "E_DATA_FORMAT",
      file,
      later.line,
      `labels mix numbers and class names (line ${Math.min(firstNumeric.line, firstString.line)} differs); use one kind`,
    );
  }
  if (classes) {
    if (classes.length < 2 || new Set(classes).size !== classes.length) {
      throw new UserDataError(
        "E_DATA_FORMAT",
        file,
        undefined,
        `classes must be ≥ 2 distinct names, got [${classes.join(", ")}]`,
      );
    }
    const ids = rows.map((r) => {
      const id =
        typeof r.label === "number"
          ? r.label < classes.length
            ? r.label
            : -1
          : classes.indexOf(r.label ?? "");
      if (id < 0) {
        throw new UserDataError(
          "E_DATA_FORMAT",
          file,
          r.line,
          `unknown label ${JSON.stringify(r.label)}: expected one of ${classes.map((c, i) => `${i}/${c}`).join(", ")}`,
        );
      }
      return id;
    });
    return { classNames: classes.slice(), ids };
  }
  if (firstNumeric) {
    const max = Math.max(...rows.map((r) => r.label as number));
    if (max >= MAX_CLASSES) {
      const r = rows.find((x) => (x.label as number) >= MAX_CLASSES)!;
      throw new UserDataError(
        "E_DATA_FORMAT",
        file,
        r.line,
        `label ${r.label} is too large: at most ${MAX_CLASSES} classes`,
      );
    }
    const classNames = Array.from({ length: Math.max(2, max + 1) }, (_, i) => String(i));
    return { classNames, ids: rows.map((r) => r.label as number) };
  }
  const classNames = [...new Set(rows.map((r) => r.label as string))].sort();
  if (classNames.length < 2) {
    throw new UserDataError(
      "E_DATA_FORMAT",
      file,
      undefined,
      `only one class (${JSON.stringify(classNames[0])}) in labels: need at least two`,
    );
  }
  const index = new Map(classNames.map((c, i) => [c, i]));
  return { classNames, ids: rows.map((r) => index.get(r.label as string)!) };
}

/** The last component of a path (either separator): the file's name as a browser's File gives it. */
function basename(file: string, ext = ""): string {
  const name = file.slice(Math.max(file.lastIndexOf("/"), file.lastIndexOf("\\")) + 1);
  return ext && name.endsWith(ext) ? name.slice(0, -ext.length) : name;
}

/** ".csv" of "data/a.csv"; "" when the name has no dot (or only a leading one). */
function extname(file: string): string {
  const name = basename(file);
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot) : "";
}
