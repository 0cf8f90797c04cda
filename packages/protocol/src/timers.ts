/** Node's timer.unref() where it exists (a pending timer must not keep a finished process alive); browsers have no such thing. */
export function unrefTimer(t: unknown): void {
  (t as { unref?: () => void }).unref?.();
}
