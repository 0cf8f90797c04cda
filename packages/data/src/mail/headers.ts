import type { ProblemLog } from "./problems.js";

export type Headers = Map<string, string[]>;

export interface Entity {
  headers: Headers;
  body: string;
}

/** A header line: field name of printable ASCII except ':' (RFC 5322 §2.2), then a colon. */
const HEADER_LINE = /^[!-9;-~]+[ \t]*:/;

/**
 * Split an entity (whole message or MIME part, LF line ends) into unfolded headers and body.
 * The header block ends at the first empty line. An mbox "From " envelope line is skipped.
 * If the first line is not a header the whole text is body ("no-headers"); `requireHeaders`
 * is false for MIME parts, where an empty header block is legal.
 */
export function splitEntity(text: string, log: ProblemLog, requireHeaders: boolean): Entity {
  let start = 0;
  if (requireHeaders && text.startsWith("From ")) {
    const nl = text.indexOf("\n");
    start = nl < 0 ? text.length : nl + 1;
  }
  if (text.charCodeAt(start) === 10) return { headers: new Map(), body: text.slice(start + 1) };
  const firstEnd = text.indexOf("\n", start);
  const firstLine = text.slice(start, firstEnd < 0 ? text.length : firstEnd);
  if (!HEADER_LINE.test(firstLine)) {
    if (requireHeaders) log.add("no-headers");
    return { headers: new Map(), body: text.slice(start) };
  }
  let end = text.indexOf("\n\n", start);
  let bodyStart: number;
  if (end < 0) {
    log.add("no-header-end");
    end = text.length;
    bodyStart = text.length;
  } else {
    bodyStart = end + 2;
  }
  return { headers: parseHeaderBlock(text.slice(start, end)), body: text.slice(bodyStart) };
}

/** Unfold (RFC 5322 §2.2.3) and collect headers by lower-cased name, in order of appearance. */
export function parseHeaderBlock(block: string): Headers {
  const headers: Headers = new Map();
  const lines = block.split("\n");
  let name: string | undefined;
  let value = "";
  const push = (): void => {
    if (name === undefined) return;
    const list = headers.get(name);
    const v = value.trim();
    if (list) list.push(v);
    else headers.set(name, [v]);
  };
  for (const line of lines) {
    const c = line.charCodeAt(0);
    if ((c === 32 || c === 9) && name !== undefined) {
      value += " " + line.trim();
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue; // garbage line inside the header block: ignore it
    push();
    name = line.slice(0, colon).trim().toLowerCase();
    value = line.slice(colon + 1);
  }
  push();
  return headers;
}

export function header(h: Headers, name: string): string | undefined {
  return h.get(name)?.[0];
}

export interface ContentType {
  type: string; // e.g. "text"
  subtype: string; // e.g. "plain"
  params: Map<string, string>;
}

const PARAM = /;\s*([^=\s;]+)\s*=\s*("((?:[^"\\]|\\.)*)"?|[^;\s]*)/g;

export function parseParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  PARAM.lastIndex = 0;
  for (let m = PARAM.exec(value); m !== null; m = PARAM.exec(value)) {
    let key = m[1]!.toLowerCase();
    if (key.endsWith("*")) key = key.slice(0, -1); // RFC 2231 extended value: keep it verbatim
    const v = m[3] !== undefined ? m[3].replace(/\\(.)/g, "$1") : m[2]!;
    if (!params.has(key)) params.set(key, v);
  }
  return params;
}

/** Parse a Content-Type value; absent → text/plain (RFC 2045 §5.2), unparsable → text/plain + problem. */
export function parseContentType(value: string | undefined, log: ProblemLog): ContentType {
  if (value === undefined || value.trim() === "")
    return { type: "text", subtype: "plain", params: new Map() };
  const m = /^\s*([A-Za-z0-9!#$&^_.+-]+)\s*\/\s*([A-Za-z0-9!#$&^_.+-]+)/.exec(value);
  const params = parseParams(value);
  if (!m) {
    // "Content-Type: text" or junk. A boundary parameter still means multipart.
    log.add("bad-content-type");
    if (params.has("boundary")) return { type: "multipart", subtype: "mixed", params };
    const t = value.trim().toLowerCase();
    if (t.startsWith("text/html") || t === "html") return { type: "text", subtype: "html", params };
    return { type: "text", subtype: "plain", params };
  }
  return { type: m[1]!.toLowerCase(), subtype: m[2]!.toLowerCase(), params };
}

/** First token of a header such as Content-Transfer-Encoding or Content-Disposition, lower-cased. */
export function firstToken(value: string | undefined): string {
  if (value === undefined) return "";
  const m = /^\s*([^\s;]+)/.exec(value);
  return m ? m[1]!.toLowerCase().replace(/^["']|["']$/g, "") : "";
}
