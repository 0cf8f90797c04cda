import {
  decodeBase64,
  decodeCharset,
  decodeHeaderValue,
  decodeQuotedPrintable,
  looksQuotedPrintable,
} from "./encodings.js";
import {
  type ContentType,
  type Entity,
  firstToken,
  type Headers,
  header,
  parseContentType,
  splitEntity,
} from "./headers.js";
import { htmlToText, looksLikeHtml } from "./html.js";
import type { ProblemLog } from "./problems.js";

/** Per-message structural facts, summed into corpus statistics. */
export interface PartCounts {
  multipart: number;
  base64: number;
  quotedPrintable: number;
  html: number;
  skipped: number; // attachments, images and other non-text parts
}

export interface ExtractedMail {
  subject: string;
  /** Body text, line structure preserved (for quote/signature stripping), not yet normalised. */
  body: string;
  /** True when the body came from HTML (no text/plain alternative was usable). */
  fromHtml: boolean;
  charsets: string[];
  counts: PartCounts;
}

const MAX_DEPTH = 12;

interface Ctx {
  log: ProblemLog;
  counts: PartCounts;
  charsets: string[];
}

interface TextResult {
  text: string;
  html: boolean;
}

const EMPTY: TextResult = { text: "", html: false };

/**
 * Decode one raw message (a byte string with LF or CRLF line ends) into subject and body text.
 * Never throws for malformed input; problems are added to `log`.
 */
export function extractMail(raw: string, log: ProblemLog): ExtractedMail {
  const text = raw.indexOf("\r") >= 0 ? raw.replace(/\r\n?/g, "\n") : raw;
  const counts: PartCounts = { multipart: 0, base64: 0, quotedPrintable: 0, html: 0, skipped: 0 };
  const ctx: Ctx = { log, counts, charsets: [] };
  const entity = splitEntity(text, log, true);
  const ct = parseContentType(header(entity.headers, "content-type"), log);
  const rawSubject = header(entity.headers, "subject") ?? "";
  const subject = decodeHeaderValue(rawSubject, ct.params.get("charset"), log);
  const res = walk(entity, ct, ctx, 0);
  return { subject, body: res.text, fromHtml: res.html, charsets: ctx.charsets, counts };
}

function walk(entity: Entity, ct: ContentType, ctx: Ctx, depth: number): TextResult {
  if (depth > MAX_DEPTH) {
    ctx.log.add("depth-limit");
    return EMPTY;
  }
  if (ct.type === "multipart") return walkMultipart(entity, ct, ctx, depth);
  if (ct.type === "message" && (ct.subtype === "rfc822" || ct.subtype === "news")) {
    // A forwarded message: its body (and subject) is content the sender chose to send.
    const inner = splitEntity(entity.body, ctx.log, false);
    const innerCt = parseContentType(header(inner.headers, "content-type"), ctx.log);
    const subj = decodeHeaderValue(
      header(inner.headers, "subject") ?? "",
      innerCt.params.get("charset"),
      ctx.log,
    );
    const r = walk(inner, innerCt, ctx, depth + 1);
    return { text: subj ? `${subj}\n${r.text}` : r.text, html: r.html };
  }
  const disposition = firstToken(header(entity.headers, "content-disposition"));
  const isText = ct.type === "text" && /^(plain|html|enriched|richtext|x-html)$/.test(ct.subtype);
  if (!isText || disposition === "attachment") {
    ctx.counts.skipped++;
    return EMPTY;
  }
  return decodeLeaf(entity.body, entity.headers, ct, ctx);
}

function decodeLeaf(body: string, headers: Headers, ct: ContentType, ctx: Ctx): TextResult {
  const cte = firstToken(header(headers, "content-transfer-encoding"));
  let bytes: string;
  if (cte === "base64") {
    ctx.counts.base64++;
    bytes = decodeBase64(body, ctx.log);
  } else if (cte === "quoted-printable") {
    ctx.counts.quotedPrintable++;
    bytes = decodeQuotedPrintable(body, ctx.log);
  } else {
    if (cte !== "" && cte !== "7bit" && cte !== "8bit" && cte !== "binary")
      ctx.log.add("unknown-transfer-encoding");
    if (looksQuotedPrintable(body)) {
      ctx.log.add("undeclared-quoted-printable");
      ctx.counts.quotedPrintable++;
      bytes = decodeQuotedPrintable(body, ctx.log);
    } else bytes = body;
  }
  const charset = ct.params.get("charset");
  if (charset) ctx.charsets.push(charset.toLowerCase());
  let text = decodeCharset(bytes, charset, ctx.log);
  if (isMostlyBinary(text)) {
    ctx.log.add("binary-content");
    return EMPTY;
  }
  let html = ct.subtype === "html" || ct.subtype === "x-html";
  if (!html && looksLikeHtml(text)) {
    ctx.log.add("html-in-plain");
    html = true;
  }
  if (html) {
    ctx.counts.html++;
    text = htmlToText(text);
  } else if (ct.subtype === "enriched" || ct.subtype === "richtext") {
    text = text.replace(/<\/?[A-Za-z][^>]*>/g, "").replace(/<</g, "<");
  }
  return { text, html };
}

/** More than 10% control characters (excluding tab/CR/LF) in the first 2000 chars. */
function isMostlyBinary(s: string): boolean {
  const n = Math.min(s.length, 2000);
  if (n === 0) return false;
  let ctl = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13) || c === 0xfffd) ctl++;
  }
  return ctl > n * 0.1;
}

/**
 * Position of the next delimiter line ("--boundary" at a line start, followed by end of line,
 * whitespace or the closing "--") at or after `from`, or -1. The suffix check matters: nested
 * multiparts often use the outer boundary plus a suffix ("…8s" outside, "…8sAA" inside).
 */
function findDelimiter(body: string, delim: string, from: number): number {
  const isDelimAt = (start: number): boolean => {
    const after = start + delim.length;
    const c = body.charCodeAt(after);
    return Number.isNaN(c) || c === 10 || c === 13 || c === 32 || c === 9 || body.startsWith("--", after);
  };
  if (from === 0 && body.startsWith(delim) && isDelimAt(0)) return 0;
  let i = from;
  for (;;) {
    const j = body.indexOf("\n" + delim, i);
    if (j < 0) return -1;
    if (isDelimAt(j + 1)) return j + 1;
    i = j + 1;
  }
}

/** Locate the parts of a multipart body. Returns undefined if the boundary never occurs. */
export function splitMultipart(body: string, boundary: string, log: ProblemLog): string[] | undefined {
  const delim = "--" + boundary;
  const parts: string[] = [];
  let pos = findDelimiter(body, delim, 0);
  if (pos < 0) return undefined;
  for (;;) {
    const afterDelim = pos + delim.length;
    if (body.startsWith("--", afterDelim)) return parts; // close delimiter
    const lineEnd = body.indexOf("\n", afterDelim);
    if (lineEnd < 0) {
      log.add("unterminated-multipart");
      return parts;
    }
    const next = findDelimiter(body, delim, lineEnd);
    if (next < 0) {
      log.add("unterminated-multipart");
      parts.push(body.slice(lineEnd + 1));
      return parts;
    }
    // The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    parts.push(body.slice(lineEnd + 1, next - 1));
    pos = next;
  }
}

function walkMultipart(entity: Entity, ct: ContentType, ctx: Ctx, depth: number): TextResult {
  ctx.counts.multipart++;
  let boundary = ct.params.get("boundary");
  if (!boundary) {
    ctx.log.add("missing-boundary");
    const guess = /^--([^\s]{1,200})[ \t]*$/m.exec(entity.body);
    boundary = guess?.[1];
  }
  const parts = boundary ? splitMultipart(entity.body, boundary, ctx.log) : undefined;
  if (parts === undefined) {
    if (boundary) ctx.log.add("boundary-not-found");
    const plain: ContentType = { type: "text", subtype: "plain", params: ct.params };
    return decodeLeaf(entity.body, entity.headers, plain, ctx);
  }
  // In multipart/digest the default part type is message/rfc822 (RFC 2046 §5.1.5).
  const defaultType = ct.subtype === "digest" ? "message/rfc822" : undefined;
  const results: TextResult[] = [];
  for (const p of parts) {
    const child = splitEntity(p, ctx.log, false);
    const childCt = parseContentType(header(child.headers, "content-type") ?? defaultType, ctx.log);
    results.push(walk(child, childCt, ctx, depth + 1));
  }
  if (ct.subtype === "alternative") return chooseAlternative(results);
  const texts = results.filter((r) => r.text.trim() !== "");
  return {
    text: texts.map((r) => r.text).join("\n\n"),
    html: texts.length > 0 && texts.every((r) => r.html),
  };
}

/**
 * Prefer the text/plain alternative. Spam often ships a placeholder plain part ("This is an HTML
 * message…") next to the real HTML, so plain text less than a tenth the length of the HTML text
 * loses to the HTML.
 */
function chooseAlternative(results: TextResult[]): TextResult {
  const nonEmpty = results.filter((r) => r.text.trim() !== "");
  const plain = nonEmpty.find((r) => !r.html);
  const html = nonEmpty.find((r) => r.html);
  if (plain && (!html || plain.text.trim().length * 10 >= html.text.trim().length)) return plain;
  return html ?? plain ?? EMPTY;
}
