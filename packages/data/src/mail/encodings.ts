import { isUtf8 } from "node:buffer";
import { TextDecoder } from "node:util";
import { decodeWindows1252 } from "./cp1252.js";
import type { ProblemLog } from "./problems.js";

/*
 * Internally the decoder works on "byte strings": JS strings whose every char code is 0–255 and
 * stands for one octet. Transfer decodings map byte strings to byte strings; only the final
 * charset step turns bytes into real Unicode text.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching raw byte/control ranges is the point
const NON_ASCII = /[^\x00-\x7f]/;
const BASE64_BAD = /[^A-Za-z0-9+/=\s]/;

export function decodeBase64(s: string, log: ProblemLog): string {
  if (BASE64_BAD.test(s)) log.add("bad-base64");
  // Buffer's decoder skips whitespace and stops at padding; it tolerates missing padding.
  return Buffer.from(s.replace(/[^A-Za-z0-9+/]/g, ""), "base64").toString("latin1");
}

const QP = /=(\r?\n|[0-9A-Fa-f]{2}|)/g;

/**
 * Spam (and some broken mailers) send quoted-printable without declaring it. Recognise it by many
 * "=3D" (an encoded '=', ubiquitous in QP'd HTML) or soft line breaks ending lines.
 */
export function looksQuotedPrintable(s: string): boolean {
  const head = s.length > 20000 ? s.slice(0, 20000) : s;
  const eq3d = head.match(/=3D/g)?.length ?? 0;
  const soft = head.match(/=\n/g)?.length ?? 0;
  return eq3d >= 3 || (soft >= 5 && soft * 20 > head.split("\n").length);
}

export function decodeQuotedPrintable(s: string, log: ProblemLog): string {
  let bad = false;
  // Trailing whitespace before a line end is transport padding (RFC 2045 §6.7 rule 3).
  const out = s.replace(/[ \t]+(?=\r?\n)/g, "").replace(QP, (_m, g: string) => {
    if (g === "") {
      bad = true;
      return "=";
    }
    if (g.charCodeAt(0) === 10 || g.charCodeAt(0) === 13) return "";
    return String.fromCharCode(Number.parseInt(g, 16));
  });
  if (bad) log.add("bad-quoted-printable");
  return out;
}

/** Q-encoding of RFC 2047 encoded-words: like QP but '_' means space. */
function decodeQ(s: string): string {
  return s
    .replace(/_/g, " ")
    .replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

const decoders = new Map<string, TextDecoder | null>();
function decoderFor(label: string): TextDecoder | null {
  let d = decoders.get(label);
  if (d === undefined) {
    try {
      d = new TextDecoder(label);
    } catch {
      d = null;
    }
    decoders.set(label, d);
  }
  return d;
}

/** Lower-cased, unquoted charset label; undefined when absent or meaningless ("default", …). */
export function normalizeCharset(label: string | undefined): string | undefined {
  if (!label) return undefined;
  let l = label
    .trim()
    .toLowerCase()
    .replace(/^["']|["']$/g, "");
  const star = l.indexOf("*"); // RFC 2231 language suffix: utf-8*en
  if (star >= 0) l = l.slice(0, star);
  if (l === "" || l === "default" || l === "default_charset" || l === "unknown-8bit" || l === "x-unknown") {
    return undefined;
  }
  if (l === "utf8") return "utf-8";
  if (l === "ascii" || l === "us_ascii" || l === "ansi_x3.4-1968") return "us-ascii";
  if (l === "latin1" || l === "latin-1" || l === "iso8859-1" || l === "iso_8859-1") return "iso-8859-1";
  return l;
}

/** Charsets whose bytes ≥ 0x80 are each one character; a valid multi-byte UTF-8 sequence in such
 * a part almost surely means the sender lied about the charset. */
const SINGLE_BYTE = /^(us-ascii|iso-8859-\d+|windows-125\d|cp125\d|koi8-[ru])$/;

function latin1Bytes(s: string): Buffer {
  return Buffer.from(s, "latin1");
}

/**
 * Turn a byte string into Unicode according to `charset`. utf-8, us-ascii and the latin-1 family
 * are handled directly; other labels go through the WHATWG TextDecoder when this runtime knows
 * them (Node with full ICU: gb2312, big5, euc-kr, koi8-r, iso-2022-jp, …), otherwise windows-1252.
 * Latin-1 is decoded as windows-1252 (its superset, as browsers do) so 0x80–0x9f smart quotes work.
 */
export function decodeCharset(bytes: string, charset: string | undefined, log: ProblemLog): string {
  const cs = normalizeCharset(charset);
  // 7-bit stateful encodings (ISO-2022-JP & co.) switch character sets with ESC sequences.
  const stateful = cs?.startsWith("iso-2022") === true && bytes.indexOf("\x1b") >= 0;
  if (!stateful && !NON_ASCII.test(bytes)) return bytes;
  const buf = latin1Bytes(bytes);
  if (cs === undefined || cs === "us-ascii" || cs === "utf-8" || (SINGLE_BYTE.test(cs) && isUtf8(buf))) {
    if (isUtf8(buf)) return buf.toString("utf8");
    if (cs === "utf-8") log.add("invalid-utf8");
    return decodeWindows1252(bytes);
  }
  if (cs === "iso-8859-1" || cs === "windows-1252") return decodeWindows1252(bytes);
  const d = decoderFor(cs);
  if (d) return d.decode(buf);
  log.add("unknown-charset");
  return decodeWindows1252(bytes);
}

const ENCODED_WORD = /=\?([^?\s]+)\?([A-Za-z])\?([^?\s]*)\?=/g;

/**
 * Decode RFC 2047 encoded-words in a header value. Whitespace between adjacent encoded-words is
 * dropped (RFC 2047 §6.2) and adjacent words in the same charset are joined at the byte level, so a
 * multi-byte character split across two words still decodes. Raw 8-bit bytes outside encoded words
 * are decoded with `fallbackCharset` (or auto-detected UTF-8 / windows-1252).
 */
export function decodeHeaderValue(
  value: string,
  fallbackCharset: string | undefined,
  log: ProblemLog,
): string {
  if (value.indexOf("=?") < 0) return decodeCharset(value, fallbackCharset, log);
  let out = "";
  let last = 0;
  let pendingBytes = "";
  let pendingCharset: string | undefined;
  const flush = (): void => {
    if (pendingBytes !== "") out += decodeCharset(pendingBytes, pendingCharset, log);
    pendingBytes = "";
    pendingCharset = undefined;
  };
  ENCODED_WORD.lastIndex = 0;
  let prevWasWord = false;
  for (let m = ENCODED_WORD.exec(value); m !== null; m = ENCODED_WORD.exec(value)) {
    const enc = m[2]!.toUpperCase();
    if (enc !== "B" && enc !== "Q") {
      log.add("bad-encoded-word");
      continue; // left in place as literal text
    }
    const between = value.slice(last, m.index);
    const cs = normalizeCharset(m[1]);
    const bytes = enc === "B" ? decodeBase64(m[3]!, log) : decodeQ(m[3]!);
    if (prevWasWord && /^[ \t\r\n]*$/.test(between)) {
      if (cs !== pendingCharset) flush();
    } else {
      flush();
      out += decodeCharset(between, fallbackCharset, log);
    }
    pendingBytes += bytes;
    pendingCharset = cs;
    prevWasWord = true;
    last = m.index + m[0].length;
  }
  flush();
  out += decodeCharset(value.slice(last), fallbackCharset, log);
  return out;
}
