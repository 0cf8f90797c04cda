/** A bad command line: exit code 2, message names the flag. */
export class UsageError extends Error {
  readonly code = "E_USAGE";
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Any error with a stable machine-readable code (E_BUDGET_EXHAUSTED, E_BACKEND, ...). */
export function errorCode(err: unknown): string {
  if (
    err &&
    typeof err === "object" &&
    "code" in err &&
    typeof (err as { code: unknown }).code === "string"
  ) {
    return (err as { code: string }).code;
  }
  return "E_INTERNAL";
}
