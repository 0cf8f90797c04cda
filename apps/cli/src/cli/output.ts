/**
 * Where a command writes. Results go to stdout; progress and diagnostics go to stderr so that, with
 * --json, the last line of stdout is always exactly one JSON object that scripts can parse.
 */
export class Output {
  jsonMode = false;

  constructor(
    private readonly stdout: (s: string) => void = (s) => process.stdout.write(s),
    private readonly stderr: (s: string) => void = (s) => process.stderr.write(s),
  ) {}

  text(s: string): void {
    this.stdout(s.endsWith("\n") ? s : `${s}\n`);
  }

  /** A line of progress (round, step, ε spent...). Always stderr. */
  progress(line: string): void {
    this.stderr(`${line}\n`);
  }

  /**
   * stderr when it is a terminal and progress should be drawn there (bars), else null (lines).
   * MEMARC_PROGRESS=lines forces lines, e.g. when recording a terminal session for a log.
   */
  terminal(): NodeJS.WritableStream | null {
    if (process.env.MEMARC_PROGRESS === "lines" || !process.stderr.isTTY) return null;
    return process.stderr;
  }

  error(line: string): void {
    this.stderr(`${line}\n`);
  }

  json(value: unknown): void {
    this.stdout(`${JSON.stringify(value)}\n`);
  }

  /** The command's result: JSON on the last stdout line with --json, else the human rendering. */
  result(value: object, human: () => string): void {
    if (this.jsonMode) this.json(value);
    else this.text(human());
  }
}
