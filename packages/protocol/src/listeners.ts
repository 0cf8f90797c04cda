/**
 * A list of listeners of one kind. `emit` calls a snapshot of the list, so a listener may remove
 * itself (as `next()` does) without skipping its neighbour, and a listener that throws is reported
 * to `onThrow` instead of reaching the peer-driven code that emitted (a receive path must not throw).
 */
export class Listeners<A extends unknown[]> {
  private readonly list: ((...args: A) => void)[] = [];

  get size(): number {
    return this.list.length;
  }

  add(fn: (...args: A) => void): void {
    this.list.push(fn);
  }

  /** Remove one registration of `fn` (the earliest); unknown functions are ignored. */
  remove(fn: unknown): void {
    const i = this.list.indexOf(fn as (...args: A) => void);
    if (i >= 0) this.list.splice(i, 1);
  }

  emit(args: A, onThrow: (err: unknown) => void = () => {}): void {
    for (const fn of [...this.list]) {
      try {
        fn(...args);
      } catch (err) {
        onThrow(err);
      }
    }
  }
}
