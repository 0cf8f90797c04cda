/**
 * Progress of a counted job as a line with rate and ETA ("features node0 1024/1331 (61.2/s, ETA 5 s)"),
 * throttled so a fast loop prints a few lines, not thousands. The line goes wherever `emit` sends it
 * (stderr, or a worker's message to the parent).
 */
export function rateReporter(
  label: string,
  emit: (line: string) => void,
  o: { minIntervalMs?: number } = {},
): (done: number, total: number) => void {
  const start = performance.now();
  let last = -Infinity;
  let finished = false;
  const interval = o.minIntervalMs ?? 2000;
  return (done, total) => {
    const now = performance.now();
    if (done < total && now - last < interval) return;
    if (done >= total) {
      if (finished) return; // a second "all done" (e.g. the same set bound again) says nothing new
      finished = true;
    }
    last = now;
    const seconds = (now - start) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? Math.ceil((total - done) / rate) : null;
    const tail = done >= total ? `, ${seconds.toFixed(1)} s` : eta === null ? "" : `, ETA ${eta} s`;
    emit(`${label} ${done}/${total} (${rate.toFixed(1)}/s${tail})`);
  };
}
