import { CP1252_HIGH } from "./cp1252.js";

/**
 * HTML → plain text, good enough for classifier input (not a renderer): drops comments, script,
 * style, head and other non-content elements, turns block elements into line breaks and inline
 * elements into nothing (spam hides words as "V<!-- x -->iag<b></b>ra"; removing inline tags without
 * a space rejoins them), decodes named and numeric character references, collapses whitespace.
 */

// HTML 4 Latin-1 entities in code point order 160…255.
const LATIN1_NAMES =
  "nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 " +
  "acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde " +
  "Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc " +
  "Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml " +
  "aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute ocirc " +
  "otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml";

const OTHER_ENTITIES: Record<string, number> = {
  amp: 38,
  lt: 60,
  gt: 62,
  quot: 34,
  apos: 39,
  OElig: 338,
  oelig: 339,
  Scaron: 352,
  scaron: 353,
  Yuml: 376,
  fnof: 402,
  circ: 710,
  tilde: 732,
  ensp: 8194,
  emsp: 8195,
  thinsp: 8201,
  zwnj: 8204,
  zwj: 8205,
  lrm: 8206,
  rlm: 8207,
  ndash: 8211,
  mdash: 8212,
  lsquo: 8216,
  rsquo: 8217,
  sbquo: 8218,
  ldquo: 8220,
  rdquo: 8221,
  bdquo: 8222,
  dagger: 8224,
  Dagger: 8225,
  bull: 8226,
  hellip: 8230,
  permil: 8240,
  lsaquo: 8249,
  rsaquo: 8250,
  euro: 8364,
  trade: 8482,
  larr: 8592,
  uarr: 8593,
  rarr: 8594,
  darr: 8595,
  spades: 9824,
  clubs: 9827,
  hearts: 9829,
  diams: 9830,
};

export const ENTITIES: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  const names = LATIN1_NAMES.split(" ");
  for (let i = 0; i < names.length; i++) m.set(names[i]!, String.fromCharCode(160 + i));
  for (const [k, v] of Object.entries(OTHER_ENTITIES)) m.set(k, String.fromCodePoint(v));
  return m;
})();

// Numeric references 128–159 are windows-1252 in practice (HTML5 §13.2.5.80 does the same).
// (Node 20's TextDecoder("windows-1252") decodes as ISO-8859-1, hence the table; see cp1252.ts.)
function fromCodePoint(cp: number): string {
  if (cp >= 128 && cp < 160) return String.fromCharCode(CP1252_HIGH[cp - 128]!);
  if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return "\ufffd";
  return String.fromCodePoint(cp);
}

const LEGACY = /^(amp|lt|gt|quot|nbsp|copy|reg)$/;
const LEGACY_PREFIX = /^(amp|lt|gt|quot|nbsp|copy|reg)/;
const ENTITY = /&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z][A-Za-z0-9]{1,7}))(;?)/g;

export function decodeEntities(s: string): string {
  if (s.indexOf("&") < 0) return s;
  return s.replace(ENTITY, (m, dec?: string, hex?: string, name?: string, semi?: string) => {
    if (dec !== undefined) return fromCodePoint(Number.parseInt(dec, 10));
    if (hex !== undefined) return fromCodePoint(Number.parseInt(hex, 16));
    const v = ENTITIES.get(name!);
    if (v !== undefined && (semi === ";" || LEGACY.test(name!))) return v;
    if (semi === "") {
      // Legacy names work without ';' even when letters follow: "&copy2002", "&ampfoo".
      const legacy = LEGACY_PREFIX.exec(name!);
      if (legacy) return ENTITIES.get(legacy[1]!)! + name!.slice(legacy[1]!.length);
    }
    if (v === undefined || semi === "") return m;
    return v;
  });
}

const DROP_ELEMENTS =
  /<(script|style|head|title|object|applet|noscript|xml|template)\b[^>]*>[\s\S]*?<\/\1\s*>/gi;
const COMMENT = /<!--[\s\S]*?-->/g;
const DECL = /<[!?][^>]*>/g;
const TAG = /<\/?([A-Za-z][A-Za-z0-9]*)(?=[\s/>])[^>]*>?/g;
const BLOCK = new Set([
  "br",
  "p",
  "div",
  "tr",
  "li",
  "ul",
  "ol",
  "table",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "hr",
  "blockquote",
  "pre",
  "center",
  "form",
  "dd",
  "dt",
  "dl",
  "body",
  "html",
  "address",
  "section",
  "article",
  "header",
  "footer",
  "tbody",
  "thead",
]);
const CELL = new Set(["td", "th", "img", "input", "option", "select", "textarea", "button"]);

const ATTR_RE = {
  alt: /\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i,
  href: /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i,
};

function attr(tag: string, name: keyof typeof ATTR_RE): string | undefined {
  const m = ATTR_RE[name].exec(tag);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

/**
 * Convert HTML to text. Image alt text is kept (it is what a reader without images sees). If no
 * visible text remains — image-only spam — the host names of the links are returned instead, so
 * the classifier still gets something to go on.
 */
export function htmlToText(html: string): string {
  let s = html.replace(COMMENT, "");
  const open = s.indexOf("<!--");
  if (open >= 0) s = s.slice(0, open); // unterminated comment: the rest is hidden from readers too
  s = s.replace(DROP_ELEMENTS, " ").replace(DECL, "");
  const hosts: string[] = [];
  s = s.replace(TAG, (tag: string, name: string) => {
    const n = name.toLowerCase();
    if (BLOCK.has(n)) return "\n";
    if (n === "img") {
      const alt = attr(tag, "alt");
      return alt ? ` ${alt} ` : " ";
    }
    if (CELL.has(n)) return " ";
    if (n === "a" && hosts.length < 8) {
      const host = /^\s*(?:https?|ftp):\/\/(?:[^@/\s]*@)?([^/:?#\s]+)/i.exec(attr(tag, "href") ?? "")?.[1];
      if (host) {
        const h = host.toLowerCase().replace(/^www\d*\./, "");
        if (!hosts.includes(h)) hosts.push(h);
      }
    }
    return "";
  });
  s = decodeEntities(s)
    .replace(/[ \t\f\v\r\u00a0]+/g, " ")
    .replace(/ ?\n[ \n]*/g, "\n")
    .trim();
  return s === "" ? hosts.join(" ") : s;
}

/** Heuristic for parts labelled text/plain (or untyped) that actually contain HTML. */
export function looksLikeHtml(s: string): boolean {
  const head = s.length > 4000 ? s.slice(0, 4000) : s;
  if (/<\s*(html|body|!doctype\s+html)\b/i.test(head)) return true;
  const tags = head.match(/<\/?(p|br|div|font|table|td|tr|a|b|img|center|span)(?=[\s/>])[^>]*>/gi);
  return tags !== null && tags.length >= 5;
}
