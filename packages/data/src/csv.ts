/**
 * CSV records over csv-parse (RFC 4180: comma separated, fields optionally enclosed in double
 * quotes, "" a literal quote, line breaks inside quotes part of the field). csv-parse is strict
 * where ambiguity would silently corrupt data — a quote inside an unquoted field, text after a
 * closing quote, an unterminated quote — and this module turns its errors into a line number and
 * a sentence a user can act on.
 */
import { CsvError, parse } from "./csv-engine.js";

export interface CsvRecord {
  fields: string[];
  /** 1-based physical line on which the record starts. */
  line: number;
}

export class CsvSyntaxError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(message);
    this.line = line;
  }
}

/** csv-parse's error codes, in words that say what to fix. */
const MESSAGES: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: "unterminated quoted field (the file ends inside quotes)",
  INVALID_OPENING_QUOTE:
    'quote (") inside an unquoted field; enclose the field in quotes and double the quote',
  CSV_INVALID_CLOSING_QUOTE: "unexpected character after closing quote",
};

export function parseCsv(text: string): CsvRecord[] {
  // One line ending: csv-parse counts the two characters of a CRLF inside a quoted field as two
  // lines, which would shift every later line number. Texts are whitespace-normalised later anyway.
  const lf = text.replace(/\r\n?/g, "\n");
  let rows: { record: string[]; info: { lines: number } }[];
  // The line after the last complete record: where an unterminated quote opened (csv-parse reports
  // the end of the file, which says nothing about where to look).
  let nextStart = 1;
  try {
    rows = parse(lf, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      on_record: (rec, ctx) => {
        nextStart = ctx.lines + 1;
        return rec;
      },
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    if (e instanceof CsvError) {
      const at = (e as CsvError & { lines?: number }).lines ?? 1;
      throw new CsvSyntaxError(
        e.code === "CSV_QUOTE_NOT_CLOSED" ? nextStart : at,
        MESSAGES[e.code] ?? e.message,
      );
    }
    throw e;
  }
  return rows.map(({ record, info }) => {
    // info.lines is where the record ends; a multi-line quoted field started that many lines earlier.
    let inner = 0;
    for (const f of record) for (let k = f.indexOf("\n"); k >= 0; k = f.indexOf("\n", k + 1)) inner++;
    return { fields: record, line: info.lines - inner };
  });
}
