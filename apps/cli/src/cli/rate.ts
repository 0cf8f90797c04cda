/**
 * Progress of a counted job with rate and ETA. On a terminal it is a bar redrawn in place
 * (cli-progress); elsewhere — a file, a pipe, CI, a worker thread's message to its parent — it is a
 * line ("features node0 1024/1331 (61.2/s, ETA 5 s)") throttled so a fast loop prints a few lines,
 * not thousands, which is what a log needs.
 */
import { Presets, SingleBar } from "cli-progress";

export interface ReporterOptions {
  /** Line mode: at most one line per this many ms (default 2000); the last one always prints. */
  minIntervalMs?: number;
  /** A terminal to draw a bar on instead of emitting lines (see Output.terminal()). */
  terminal?: NodeJS.WritableStream | null;
}

/** `(done, total, extra?)`: report progress; `extra` is shown after the rate (e.g. "loss 0.21 ε 1.3"). */
export type Reporter = (done: number, total: number, extra?: string) => void;

export function rateReporter(label: string, emit: (line: string) => void, o: ReporterOptions = {}): Reporter {
  return o.terminal ? barReporter(label, o.terminal) : lineReporter(label, emit, o.minIntervalMs ?? 2000);
}

/** "12 s", "3 min 5 s", "1 h 2 min". */
export function formatSeconds(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t} s`;
  if (t < 3600) return `${Math.floor(t / 60)} min ${t % 60} s`;
  return `${Math.floor(t / 3600)} h ${Math.floor((t % 3600) / 60)} min`;
}

/**
 * The clock of the count being reported. One reporter may see several counts in turn (the training
 * split's features, then — after training — the test split's): a report with fewer done than the
 * last starts a new count, whose rate is measured from its own first report (not from the previous
 * count's start, which would make a later count look slow and its ETA long). So does a report of 0
 * done: a job that begins long after its reporter was made (the test pass after training) says
 * "0 done" when it starts. A total may change within a count (a run stopped early).
 */
function countClock(): (done: number) => { seconds: number; rate: number | null; fresh: boolean } {
  let start = performance.now();
  let base = 0;
  let last: { done: number } | null = null;
  return (done) => {
    const now = performance.now();
    const fresh = done === 0 || (last !== null && done < last.done);
    if (fresh) {
      start = now;
      base = done;
    }
    last = { done };
    const seconds = (now - start) / 1000;
    return { seconds, rate: seconds > 0 && done > base ? (done - base) / seconds : null, fresh };
  };
}

function lineReporter(label: string, emit: (line: string) => void, interval: number): Reporter {
  const clock = countClock();
  let last = -Infinity;
  let finished = false;
  return (done, total, extra) => {
    const now = performance.now();
    const { seconds, rate, fresh } = clock(done);
    if (fresh) {
      finished = false;
      last = -Infinity;
    }
    if (done < total && now - last < interval) return;
    if (done >= total) {
      if (finished) return; // a second "all done" (e.g. the same set bound again) says nothing new
      finished = true;
    }
    last = now;
    const eta = rate === null ? null : (total - done) / rate;
    const tail =
      done >= total ? `, ${seconds.toFixed(1)} s` : eta === null ? "" : `, ETA ${formatSeconds(eta)}`;
    const shown = rate === null ? "" : ` (${rate.toFixed(1)}/s${tail})`;
    emit(`${label} ${done}/${total}${shown}${extra ? `  ${extra}` : ""}`);
  };
}

function barReporter(label: string, terminal: NodeJS.WritableStream): Reporter {
  let bar: SingleBar | null = null;
  const clock = countClock();
  return (done, total, extra) => {
    const { rate, fresh } = clock(done);
    const payload = { rate: (rate ?? 0).toFixed(1), extra: extra ? `  ${extra}` : "" };
    if (fresh) {
      bar?.stop();
      bar = null;
    }
    if (!bar) {
      bar = new SingleBar(
        {
          stream: terminal,
          format: `${label} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted}{extra}`,
          etaBuffer: 20,
          fps: 5,
          hideCursor: false,
        },
        Presets.shades_classic,
      );
      bar.start(total, done, payload);
    } else {
      bar.setTotal(total);
      bar.update(done, payload);
    }
    if (done >= total) bar.stop();
  };
}
