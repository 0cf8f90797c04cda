/** The stable `code` of the error `fn` throws, or "no error": lets a test assert on codes, not messages. */
export function thrownCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code: string }).code;
  }
  return "no error";
}
