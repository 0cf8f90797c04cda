import { cleanBody, cleanSubject, truncate } from "./clean.js";
import { extractMail, type PartCounts } from "./mime.js";
import { type DecodeProblem, ProblemLog } from "./problems.js";

export interface DecodedEmail {
  /** Decoded, cleaned subject (≤ 300 chars). */
  subject: string;
  /** Decoded, cleaned body: the author's text, whitespace collapsed, not truncated. */
  body: string;
  fromHtml: boolean;
  charsets: string[];
  counts: PartCounts;
  problems: DecodeProblem[];
}

/**
 * Convert a raw message to a byte string. Strings whose chars are all ≤ 0xFF are taken as bytes
 * already (latin1 / binary); strings with wider chars are real Unicode text and get UTF-8 encoded,
 * so the charset step sees valid UTF-8 and reproduces them exactly.
 */
export function toByteString(raw: string | Uint8Array): string {
  if (typeof raw !== "string")
    return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("latin1");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching raw byte/control ranges is the point
  if (!/[^\x00-\xff]/.test(raw)) return raw;
  return Buffer.from(raw, "utf8").toString("latin1");
}

/**
 * Decode and clean one RFC 5322 message (headers + MIME body). Never throws: on an internal
 * failure the headers are cut off crudely and "exception" is reported.
 */
export function decodeEmail(raw: string | Uint8Array): DecodedEmail {
  const log = new ProblemLog();
  let bytes = "";
  try {
    bytes = toByteString(raw);
    const m = extractMail(bytes, log);
    const body = cleanBody(m.body);
    if (body === "") log.add("empty-body");
    return {
      subject: cleanSubject(m.subject),
      body,
      fromHtml: m.fromHtml,
      charsets: m.charsets,
      counts: m.counts,
      problems: log.list,
    };
  } catch {
    log.add("exception");
    const sep = bytes.search(/\r?\n\r?\n/);
    let body = "";
    try {
      body = cleanBody(sep >= 0 ? bytes.slice(sep) : bytes);
    } catch {
      body = "";
    }
    if (body === "") log.add("empty-body");
    return {
      subject: "",
      body,
      fromHtml: false,
      charsets: [],
      counts: { multipart: 0, base64: 0, quotedPrintable: 0, html: 0, skipped: 0 },
      problems: log.list,
    };
  }
}

/** Classifier input: subject, newline, body, truncated to `maxChars` (subject first on purpose). */
export function composeText(subject: string, body: string, maxChars: number): string {
  return truncate(subject + "\n" + body, maxChars);
}
