/**
 * Structured logging over pino. Two guarantees the rest of MemArc relies on:
 *   - key material never reaches a log line: fields named like keys/tokens are redacted at any of
 *     the first three nesting levels, whoever logs them (a careless `fields` object included);
 *   - logs go to stderr by default, so `--json` keeps stdout for the one-line result.
 */
import type { Logger as ProtocolLogger } from "@memarc/protocol";
import { type DestinationStream, type Level, type Logger as PinoLogger, pino } from "pino";
import pretty from "pino-pretty";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * json: one object per line, for log shippers and scripts; pretty: pino-pretty's readable lines
 * (time, level, message, fields), for a person at a terminal.
 */
export const LOG_FORMATS = ["json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** pretty on a terminal, json when stderr is a file or a pipe (where a machine reads it). */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stderr): LogFormat {
  return stream.isTTY ? "pretty" : "json";
}

/** Field names that hold (or may hold) secrets. Compared exactly, as pino's redaction does. */
export const SECRET_FIELDS = [
  "secretKey",
  "privateKey",
  "key",
  "keyFile",
  "seed",
  "token",
  "joinToken",
  "password",
  "authorization",
  "cookie",
] as const;

export const REDACTED = "[redacted]";

/** Redaction paths: `name`, `*.name`, `*.*.name` for every secret field name. */
export function redactionPaths(fields: readonly string[] = SECRET_FIELDS): string[] {
  return fields.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);
}

export class LogLevelError extends Error {
  readonly code = "E_BAD_LOG_LEVEL";
  constructor(level: string) {
    super(`unknown log level "${level}"; use one of ${LOG_LEVELS.join(", ")}`);
    this.name = "LogLevelError";
  }
}

export function isLogLevel(x: string): x is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(x);
}

export interface CreateLoggerOptions {
  level: string;
  /** Component name, e.g. "coordinator" or "client"; appears as `name` in every line. */
  name: string;
  /** Where lines go. Default: stderr, written synchronously so nothing is lost on exit. */
  destination?: DestinationStream;
  /** Extra field names to redact in addition to SECRET_FIELDS. */
  redact?: string[];
  /** Default json. pretty formats each line with pino-pretty (after redaction) before it is written. */
  format?: LogFormat;
  /** pretty: colour the level (default: when the destination is stderr and a terminal). */
  colorize?: boolean;
}

export type MemarcLogger = PinoLogger<never>;

export function createLogger(options: CreateLoggerOptions): MemarcLogger {
  if (!isLogLevel(options.level)) throw new LogLevelError(options.level);
  const fields = [...SECRET_FIELDS, ...(options.redact ?? [])];
  return pino(
    {
      name: options.name,
      level: options.level,
      redact: { paths: redactionPaths(fields), censor: REDACTED },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.format === "pretty"
      ? pretty({
          // Synchronous, like the json path: a line logged just before exit is not lost.
          sync: true,
          destination: options.destination ?? 2,
          colorize: options.colorize ?? (options.destination === undefined && process.stderr.isTTY === true),
          translateTime: "SYS:HH:MM:ss.l",
          ignore: "pid,hostname",
        })
      : (options.destination ?? pino.destination({ dest: 2, sync: true })),
  );
}

/** The protocol's logger interface (packages/protocol/src/logger.ts). */
export type EventLogger = ProtocolLogger;

/**
 * Adapts a pino logger to the protocol's `{info, warn, error}(event, fields)` interface. The event
 * becomes the message and also an `event` field (so it can be filtered on); fields stay top-level so
 * redaction paths apply to them.
 */
export function toEventLogger(logger: PinoLogger<never> | PinoLogger): EventLogger {
  const at =
    (level: Extract<Level, "info" | "warn" | "error">) =>
    (event: string, fields?: Record<string, unknown>): void => {
      logger[level]({ ...(fields ?? {}), event }, event);
    };
  return { info: at("info"), warn: at("warn"), error: at("error") };
}
