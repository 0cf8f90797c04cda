import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { formatSeconds, rateReporter } from "./rate.js";

test("line mode: throttled lines with count, rate, ETA and the caller's extra; the last always prints", () => {
  const lines: string[] = [];
  const report = rateReporter("features", (l) => lines.push(l), { minIntervalMs: 0 });
  report(10, 40, "loss 0.5");
  report(40, 40);
  report(40, 40); // a repeated "done" says nothing new
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^features 10\/40 \(\d+(\.\d)?\/s, ETA \d+ s\) {2}loss 0\.5$/);
  assert.match(lines[1]!, /^features 40\/40 \(\d+(\.\d)?\/s, \d+\.\d s\)$/);
  const quiet: string[] = [];
  const throttled = rateReporter("x", (l) => quiet.push(l), { minIntervalMs: 60_000 });
  for (let i = 1; i < 100; i++) throttled(i, 100);
  throttled(100, 100);
  assert.equal(quiet.length, 2); // the first and the last
});

test("terminal mode: a cli-progress bar with count, rate, ETA and extra, drawn on the terminal only", () => {
  let drawn = "";
  const tty = Object.assign(
    new Writable({
      write(chunk, _enc, cb) {
        drawn += String(chunk);
        cb();
      },
    }),
    { isTTY: true, columns: 200, cursorTo: () => true, clearLine: () => true, moveCursor: () => true },
  );
  const lines: string[] = [];
  const report = rateReporter("training", (l) => lines.push(l), { terminal: tty });
  report(5, 20, "ε 0.4");
  report(20, 20, "ε 1.0");
  assert.equal(lines.length, 0);
  assert.match(drawn, /training \[[█░]+\] 20\/20 \| \d+(\.\d)?\/s \| ETA \d+s {2}ε 1\.0/);
});

test("formatSeconds reads like a person would say it", () => {
  assert.equal(formatSeconds(4.4), "4 s");
  assert.equal(formatSeconds(185), "3 min 5 s");
  assert.equal(formatSeconds(3720), "1 h 2 min");
});

test("a second count on the same reporter (test features after training) is timed from its own start", async () => {
  const lines: string[] = [];
  const report = rateReporter("features", (l) => lines.push(l), { minIntervalMs: 0 });
  report(100, 100); // the training split, at once
  await new Promise((r) => setTimeout(r, 300)); // training runs in between
  const a0 = performance.now();
  report(10, 20); // the test split's first chunk: no rate yet (nothing of this count timed)
  const a1 = performance.now();
  await new Promise((r) => setTimeout(r, 50));
  const b0 = performance.now();
  report(15, 20);
  const b1 = performance.now();
  report(20, 20);
  assert.equal(lines.length, 4);
  assert.equal(lines[1], "features 10/20");
  // 5 done between the two reports; timed from the first count's start it would be 15 in ≥ 350 ms.
  const rate = Number(/\((\d+(?:\.\d)?)\/s, ETA/.exec(lines[2]!)?.[1]);
  const [low, high] = [5 / ((b1 - a0) / 1000), 5 / ((b0 - a1) / 1000)];
  assert.ok(rate >= low - 0.05 && rate <= high + 0.05, `${lines[2]} outside [${low}, ${high}]`);
  assert.match(lines[3]!, /^features 20\/20 \(\d+(\.\d)?\/s, 0\.\d s\)$/);
});

test("a count that starts long after its reporter was made is timed from its report of 0 done", async () => {
  const lines: string[] = [];
  const report = rateReporter("evaluating", (l) => lines.push(l), { minIntervalMs: 0 });
  await new Promise((r) => setTimeout(r, 400)); // training, before the test pass begins
  const start = performance.now();
  report(0, 20);
  await new Promise((r) => setTimeout(r, 50));
  report(10, 20);
  const elapsed = (performance.now() - start) / 1000;
  assert.equal(lines[0], "evaluating 0/20");
  // Timed from the reporter's creation the rate would be ≤ 10 / 0.45 s ≈ 22/s; from "0 done", ≥ 10 / elapsed.
  const rate = Number(/\((\d+(?:\.\d)?)\/s, ETA/.exec(lines[1]!)?.[1]);
  assert.ok(rate >= 10 / elapsed - 0.05, `${lines[1]}: slower than 10 in ${elapsed} s`);
  assert.ok(rate > 25, `${lines[1]}`);
});
