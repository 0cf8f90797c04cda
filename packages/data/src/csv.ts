/**
 * RFC 4180 CSV reader: comma separated, CRLF or LF record ends, fields optionally enclosed in
 * double quotes; inside quotes, "" is a literal quote and line breaks are part of the field.
 * Strict where ambiguity would silently corrupt data: a quote inside an unquoted field, text
 * after a closing quote, and an unterminated quote are errors.
 */
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

export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    for (;;) {
      let field = "";
      if (text.charCodeAt(i) === 34 /* " */) {
        const quoteLine = line;
        i++;
        for (;;) {
          if (i >= n)
            throw new CsvSyntaxError(quoteLine, "unterminated quoted field (opening quote on this line)");
          const q = text.indexOf('"', i);
          if (q < 0)
            throw new CsvSyntaxError(quoteLine, "unterminated quoted field (opening quote on this line)");
          const chunk = text.slice(i, q);
          for (let k = chunk.indexOf("\n"); k >= 0; k = chunk.indexOf("\n", k + 1)) line++;
          field += chunk;
          if (text.charCodeAt(q + 1) === 34) {
            field += '"';
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        const c = text.charCodeAt(i);
        if (i < n && c !== 44 && c !== 10 && c !== 13) {
          throw new CsvSyntaxError(
            line,
            `unexpected character ${JSON.stringify(text[i])} after closing quote`,
          );
        }
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === 44 || c === 10 || c === 13) break;
          if (c === 34)
            throw new CsvSyntaxError(
              line,
              'quote (") inside an unquoted field; enclose the field in quotes and double the quote',
            );
          j++;
        }
        field = text.slice(i, j);
        i = j;
      }
      fields.push(field);
      if (i >= n) break;
      const c = text.charCodeAt(i);
      if (c === 44) {
        i++;
        continue;
      }
      // record end: \n, \r\n or lone \r
      i += c === 13 && text.charCodeAt(i + 1) === 10 ? 2 : 1;
      line++;
      break;
    }
    // A completely empty line is not a record (RFC 4180 does not allow them; be lenient).
    if (!(fields.length === 1 && fields[0] === "")) records.push({ fields, line: startLine });
  }
  return records;
}
