/** Flag handling shared by coordinator, client and simulate. */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createSecureContext } from "node:tls";
import { userDataToDataset } from "@memarc/data";
import { getSpamAssassin, loadUserData, SPAM_ASSASSIN_CLASSES } from "@memarc/data/node";
import type { CoordinatorEvent } from "@memarc/federation";
import { bundledEncoderDir } from "@memarc/models/node";
import { createLogger, defaultLogFormat, LOG_FORMATS, LOG_LEVELS, type MemarcLogger } from "@memarc/ops";
import { type Identity, KeyFileError, parsePublicKey } from "@memarc/protocol";
import { loadKeyFile } from "@memarc/protocol/node";
import type { LabelledTexts } from "@memarc/train";
import type { OptionSpec } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";
import type { Flags } from "../cli/flags.js";
import { formatSeconds } from "../cli/rate.js";

export const LOG_OPTION: Record<string, OptionSpec> = {
  "log-level": { type: "string", value: "L", description: LOG_LEVELS.join(" | "), default: "warn" },
  "log-format": {
    type: "string",
    value: "F",
    description: "pretty | json (default: pretty on a terminal, json when stderr is a file or pipe)",
  },
};

export function readLogger(flags: Flags, name: string): MemarcLogger {
  const level = flags.choice("log-level", LOG_LEVELS)!;
  const format = flags.choice("log-format", LOG_FORMATS) ?? defaultLogFormat();
  return createLogger({ level, name, format });
}

/** --model DIR, defaulting to the bundled all-MiniLM-L6-v2 encoder (null for schemes without one). */
export function readModelDir(flags: Flags, scheme: string): string | null {
  if (scheme === "logreg") return null;
  const dir = flags.string("model");
  if (dir) {
    const p = resolve(dir);
    if (!existsSync(p)) throw new UsageError(`--model: no such directory: ${p}`);
    return p;
  }
  return bundledEncoderDir();
}

/** A public key given as text (base64/hex) or as a path to a file holding it. */
export function readPublicKey(flag: string, value: string): Uint8Array {
  const direct = parsePublicKey(value.trim());
  if (direct) return direct;
  if (!existsSync(value))
    throw new UsageError(`--${flag}: not a public key (base64 or hex) nor a file: ${value}`);
  const text = readFileSync(value, "utf8").trim();
  const fromFile = parsePublicKey(text) ?? parsePublicKey(String(safeJson(text)?.publicKey ?? ""));
  if (!fromFile) throw new UsageError(`--${flag}: ${value} holds no public key`);
  return fromFile;
}

/** --key FILE: the node's or coordinator's identity; any problem is said with the flag's name. */
export function readIdentity(flag: string, path: string): Identity {
  try {
    return loadKeyFile(resolve(path));
  } catch (err) {
    if (err instanceof KeyFileError) throw new KeyFileError(`--${flag}: ${err.message}`, err.details);
    throw err;
  }
}

const errorText = (err: unknown) => (err as Error).message.split("\n")[0];

/** A PEM file named by a flag, checked to parse as what the flag expects before any port opens. */
export function readPem(flag: string, path: string, kind: "certificate" | "private key"): string {
  let text: string;
  try {
    text = readFileSync(resolve(path), "utf8");
  } catch (err) {
    throw new UsageError(`--${flag}: cannot read ${path} (${errorText(err)})`);
  }
  try {
    if (kind === "certificate") new X509Certificate(text);
    else createPrivateKey(text);
  } catch (err) {
    throw new UsageError(`--${flag}: ${path} does not hold a PEM ${kind} (${errorText(err)})`);
  }
  return text;
}

/** --tls-cert/--tls-key: both readable, and the key the one the certificate was issued for. */
export function readTlsPair(certPath: string, keyPath: string): { cert: string; key: string } {
  const cert = readPem("tls-cert", certPath, "certificate");
  const key = readPem("tls-key", keyPath, "private key");
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new UsageError(
      `--tls-cert/--tls-key: the private key in ${keyPath} does not belong to the certificate in ${certPath} (${errorText(err)})`,
    );
  }
  return { cert, key };
}

function safeJson(text: string): Record<string, unknown> | null {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Class names of an exported model: the dataset's for spam-assassin, else "0", "1", …. */
export function classNamesFor(flags: Flags, numClasses: number): string[] {
  if (flags.string("test-data") === "spam-assassin" && numClasses === SPAM_ASSASSIN_CLASSES.length)
    return [...SPAM_ASSASSIN_CLASSES];
  return Array.from({ length: numClasses }, (_, i) => String(i));
}

/** --test-data: "spam-assassin" (its test split) or a JSONL/CSV file. */
export function readTestData(spec: string | undefined): LabelledTexts | null {
  if (!spec || spec === "none") return null;
  if (spec === "spam-assassin") {
    const d = getSpamAssassin();
    return { texts: d.test.texts, labels: d.test.labels };
  }
  if (/\.(jsonl|csv)$/i.test(spec)) {
    const ds = userDataToDataset(loadUserData(spec));
    return { texts: ds.texts, labels: ds.labels };
  }
  throw new UsageError(`--test-data: expected spam-assassin, none, or a .jsonl/.csv file, got "${spec}"`);
}

const fmt = (x: number | null | undefined, d = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(d);

/** How a progress line names a node: its allow-list name if it has one, and always its key's start. */
export function nodeLabel(nodeId: string, name?: string): string {
  return name ? `${name} (${nodeId.slice(0, 8)}…)` : `${nodeId.slice(0, 8)}…`;
}

/**
 * One progress line per round, for people watching a run. `nameOf` gives a node's friendly name
 * (its allow-list comment).
 */
export function describeEvent(
  e: CoordinatorEvent,
  rounds: number,
  budget: number,
  nameOf: (nodeId: string) => string | undefined = () => undefined,
): string | null {
  switch (e.type) {
    case "waiting":
      return `round ${e.round}/${rounds}: waiting for nodes (${e.connected}/${e.needed} connected)`;
    case "round-start":
      return `round ${e.round}/${rounds}: training on ${e.participants.length} node(s)`;
    case "node-rejected":
      return `round ${e.round}: rejected update from ${nodeLabel(e.nodeId, nameOf(e.nodeId))}: ${e.reason}`;
    case "round-end": {
      const r = e.record;
      const m = r.metrics;
      const acc = m.test_accuracy ?? m.federated_accuracy;
      return (
        `round ${r.round}/${rounds}: ${r.participants.length} update(s), ${r.failures.length} failure(s), ` +
        `loss ${fmt(m.test_loss ?? m.federated_loss)}, accuracy ${fmt(acc)}, ε example ${fmt(r.epsilon.example)} user ${fmt(r.epsilon.user)} ` +
        `(budget ${budget}), ${r.seconds.toFixed(1)} s` +
        // At this round's pace: rounds differ little once nodes are prepared.
        (r.round < rounds ? `, ETA ${formatSeconds((rounds - r.round) * r.seconds)}` : "")
      );
    }
    case "stopped":
      return `stopped after round ${e.completedRound}: ${e.reason}`;
    default:
      return null;
  }
}
