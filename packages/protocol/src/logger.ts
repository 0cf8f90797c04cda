/** Where the protocol reports rejected messages and session events. Injected; defaults to stderr. */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

function line(level: string, event: string, fields?: Record<string, unknown>): string {
  return `memarc/protocol ${level} ${event}${fields ? ` ${JSON.stringify(fields)}` : ""}\n`;
}

/** stderr under Node; the console in a browser (where `process` does not exist). */
function write(text: string): void {
  const stderr = (globalThis as { process?: { stderr?: { write(s: string): unknown } } }).process?.stderr;
  if (stderr) stderr.write(text);
  else console.warn(text.trimEnd());
}

export const stderrLogger: Logger = {
  info: (e, f) => write(line("info", e, f)),
  warn: (e, f) => write(line("warn", e, f)),
  error: (e, f) => write(line("error", e, f)),
};

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

export interface LogRecord {
  level: "info" | "warn" | "error";
  event: string;
  fields: Record<string, unknown>;
}

/** Keeps records in memory (tests, or a coordinator that surfaces them elsewhere). */
export class MemoryLogger implements Logger {
  readonly records: LogRecord[] = [];
  info(event: string, fields: Record<string, unknown> = {}): void {
    this.records.push({ level: "info", event, fields });
  }
  warn(event: string, fields: Record<string, unknown> = {}): void {
    this.records.push({ level: "warn", event, fields });
  }
  error(event: string, fields: Record<string, unknown> = {}): void {
    this.records.push({ level: "error", event, fields });
  }
}
