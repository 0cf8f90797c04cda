/**
 * Turn decoded mail text into classifier input. The model sees ~128 tokens, so the goal is to put
 * the author's own words first: quoted replies, attributions, PGP armour, uuencoded blobs,
 * signatures and mailing-list footers are removed, URLs shrink to their host name, and all
 * whitespace collapses to single spaces.
 */

const URL_RE = /\b(?:(?:https?|ftp):\/\/|www\.)([^\s/?#<>"'()[\]{}|\\^`]+)[^\s<>"'\])}]*/gi;
const OUTLOOK_QUOTE = /^\s*-{3,}\s*(original message|forwarded message|reply message)\s*-{3,}/i;
const FOOTER_HINT = /mailing list|listinfo|unsubscribe|yahoo! groups|sponsored by|^sourceforge|list archive/i;
const BASE64_LINE = /^[A-Za-z0-9+/=]{40,}$/;
// Quoted header blocks of replies/forwards ("Date: …", "From: …", "Message-ID: …").
const HEADERISH = /^(date|from|to|cc|sent|message-id|in-reply-to|references|reply-to|x-[a-z-]+):\s/i;

/** Host of a URL match, without credentials, port and a leading "www.". */
function urlHost(_m: string, hostPart: string): string {
  let h = hostPart;
  const at = h.lastIndexOf("@");
  if (at >= 0) h = h.slice(at + 1);
  const colon = h.indexOf(":");
  if (colon >= 0) h = h.slice(0, colon);
  h = h
    .replace(/^www\d*\./i, "")
    .replace(/\.+$/, "")
    .toLowerCase();
  return h === "" ? " " : h;
}

export function shortenUrls(s: string): string {
  return s.replace(URL_RE, urlHost);
}

/** Remove quoted, armoured, encoded and footer lines; keeps line structure. */
export function stripNoise(body: string): string {
  const lines = body.split("\n");
  const out: string[] = [];
  let skipUntil: RegExp | undefined;
  let hasContent = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const t = line.trim();
    if (skipUntil) {
      if (skipUntil.test(t)) skipUntil = undefined;
      continue;
    }
    if (t.startsWith(">") || t.startsWith("|>")) continue; // quoted reply
    if (/\bwrote:\s*$/i.test(t) && t.length < 200 && nextNonEmptyIsQuote(lines, i)) continue; // attribution
    if (t === "-----BEGIN PGP SIGNED MESSAGE-----") {
      if (/^Hash:/i.test(lines[i + 1]?.trim() ?? "")) i++;
      continue;
    }
    if (/^-----BEGIN PGP (SIGNATURE|PUBLIC KEY BLOCK|MESSAGE)-----$/.test(t)) {
      skipUntil = /^-----END PGP /;
      continue;
    }
    if (/^begin [0-7]{3,4} \S/.test(t)) {
      skipUntil = /^end$/;
      continue;
    }
    if (BASE64_LINE.test(t)) continue; // undecoded attachment data pasted as text
    if (
      HEADERISH.test(t) &&
      (HEADERISH.test(lines[i - 1]?.trim() ?? "") || HEADERISH.test(lines[i + 1]?.trim() ?? ""))
    ) {
      continue; // two or more header lines in a row: a quoted header block
    }
    // Everything below a signature separator, an Outlook-style quote header or a mailing-list
    // footer is not the author's message. Only cut once some content has been seen.
    if (hasContent) {
      if (line === "-- " || t === "--") break;
      if (OUTLOOK_QUOTE.test(t) && !/forwarded/i.test(t)) break;
      if (/^[_=-]{20,}$/.test(t) && footerFollows(lines, i)) break;
    }
    out.push(line);
    if (t !== "") hasContent = true;
  }
  // A message that is nothing but quotes (some spam is sent that way): keep the quoted text.
  if (!hasContent) return body.replace(/^[ \t]*(?:>[ \t]?)+/gm, "");
  return out.join("\n");
}

function nextNonEmptyIsQuote(lines: string[], i: number): boolean {
  for (let j = i + 1; j < lines.length && j <= i + 2; j++) {
    const t = lines[j]!.trim();
    if (t === "") continue;
    return t.startsWith(">");
  }
  return false;
}

function footerFollows(lines: string[], i: number): boolean {
  for (let j = i + 1; j < lines.length && j <= i + 5; j++) if (FOOTER_HINT.test(lines[j]!)) return true;
  return false;
}

// C0/C1 controls (tab/newline handled as whitespace), replacement char, zero-width and bidi marks,
// soft hyphen.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching raw byte/control ranges is the point
const INVISIBLE = /[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd\u200b-\u200f\u202a-\u202e\u2060\ufeff\u00ad]/g;

/** Unicode NFC, full-width ASCII folded to ASCII (spam writes "ＦＲＥＥ"), invisible chars removed,
 * runs of one punctuation character capped at 3, all whitespace collapsed to single spaces.
 * (Not NFKC: it would turn "´" and "½" into space + combining mark and "1⁄2".) */
export function normalizeText(s: string): string {
  let t = s;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching raw byte/control ranges is the point
  if (/[^\x00-\x7f]/.test(t)) {
    t = t.normalize("NFC").replace(/[\uff01-\uff5e]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
  }
  return t
    .replace(INVISIBLE, "")
    .replace(/([^\p{L}\p{N}\s])\1{3,}/gu, "$1$1$1")
    .replace(/\s+/g, " ")
    .trim();
}

/** Cut to at most `max` chars, preferably at a space in the last fifth. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = s.lastIndexOf(" ", max);
  if (cut < max * 0.8) cut = max;
  // Do not split a surrogate pair.
  const c = s.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--;
  return s.slice(0, cut).trimEnd();
}

export const MAX_SUBJECT_CHARS = 300;

export function cleanSubject(subject: string): string {
  return truncate(normalizeText(shortenUrls(subject)), MAX_SUBJECT_CHARS);
}

export function cleanBody(body: string): string {
  return normalizeText(shortenUrls(stripNoise(body)));
}
