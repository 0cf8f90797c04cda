/**
 * The dashboard in a real browser (system Chromium through playwright-core) following a real
 * Coordinator run: FedAvg with example-level DP-SGD settings, an RDP privacy ledger and safetensors
 * state, over an in-process pool of nodes that really train. The page is opened BEFORE the run
 * starts, so everything it ends up showing arrived over Server-Sent Events.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { RunMonitor, startDashboard } from "@memarc/ops";
import { logisticCoordinatorRun } from "@memarc/ops/testing";
import { launchChromium, chromiumSkip as skip } from "./chromium.js";
import { startMemarc } from "./cli-process.js";

const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));

describe("dashboard in Chromium", () => {
  it("shows a real coordinator run live and ends on the coordinator's own round count and ε", {
    skip,
    timeout: 120_000,
  }, async (t) => {
    const ROUNDS = 4;
    const run = logisticCoordinatorRun({
      rounds: ROUNDS,
      nodes: [
        { id: "node-alpha", examples: 150, seed: 11, fitDelayMs: 250 },
        { id: "node-bravo", examples: 90, seed: 12, fitDelayMs: 300 },
        { id: "node-charlie", examples: 60, seed: 13, fitDelayMs: 200 },
      ],
      epsilon: 40,
      // As `memarc coordinator` takes them from allow-list comments; node-charlie's line has none.
      nodeNames: { "node-alpha": "hospital-a", "node-bravo": "clinic-b" },
    });
    const dashboard = await startDashboard({ monitor: run.monitor, host: "127.0.0.1", port: 0 });
    const userDataDir = mkdtempSync(join(tmpdir(), "memarc-chromium-"));
    const context = await launchChromium(userDataDir);
    const problems: string[] = [];
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on("response", (r) => {
        if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
      });
      page.on("requestfailed", (r) => {
        // The SSE stream is cut when the dashboard closes at the end; anything else is a failure.
        if (!r.url().endsWith("/api/events")) problems.push(`request failed: ${r.url()}`);
      });
      await page.goto(dashboard.url);
      await page.locator('[data-testid="live"][data-state="live"]').waitFor({ timeout: 15_000 });
      // textContent, not innerText: the figures must not depend on CSS (headings are upper-cased).
      const text = async (id: string) =>
        ((await page.locator(`[data-testid="${id}"]`).textContent()) ?? "").trim();
      assert.equal(await text("rounds-completed"), "0");
      assert.equal(await text("epsilon"), "—");
      assert.equal(await text("connected"), "3");
      assert.equal(await text("rounds-planned"), String(ROUNDS));
      assert.equal(await text("epsilon-budget"), "40");

      // Record every round count the page displays while the run goes on.
      // (A string, not a function: this project compiles without DOM types.)
      await page.evaluate(`(() => {
        const el = document.querySelector('[data-testid="rounds-completed"]');
        const seen = [el.textContent];
        window.seenRounds = seen;
        new MutationObserver(() => {
          if (seen.at(-1) !== el.textContent) seen.push(el.textContent);
        }).observe(el, { childList: true, characterData: true, subtree: true });
      })()`);

      const summary = await run.coordinator.run();
      assert.equal(summary.completedRound, ROUNDS);
      assert.equal(summary.stopReason, "completed");
      const eps = summary.epsilon.example;
      assert.ok(eps !== null && eps > 0 && eps < 40, `ε ${eps}`);

      await page.locator('[data-testid="phase"]', { hasText: "stopped" }).waitFor({ timeout: 15_000 });
      await page.locator('[data-testid="rounds-completed"]', { hasText: String(ROUNDS) }).waitFor();
      assert.equal(await text("rounds-completed"), String(summary.completedRound));
      assert.equal(await text("current-round"), String(summary.completedRound));
      assert.equal(await text("epsilon"), eps.toFixed(3));
      assert.equal(await text("epsilon-example"), eps.toFixed(3));
      assert.equal(await text("epsilon-user"), "—");
      assert.equal(await text("epsilon-unit"), "example");
      assert.match(await text("phase-detail"), /stopped: completed/);
      // The run is over: the badge no longer says "live", although the page is still connected.
      await page.locator('[data-testid="live"][data-state="stopped"]').waitFor({ timeout: 5_000 });
      assert.equal(await text("live"), "stopped");
      // The meter ends on the coordinator's ε against the budget.
      assert.equal(
        Number(await page.locator('[data-testid="epsilon-meter"]').getAttribute("data-fraction")),
        eps / 40,
      );

      // It got there live: the count went up through intermediate rounds without a reload.
      const seenRounds = (await page.evaluate("window.seenRounds")) as string[];
      const seenNums = seenRounds.map(Number);
      assert.equal(seenNums[0], 0);
      assert.equal(seenNums.at(-1), ROUNDS);
      assert.ok(seenNums.length >= 3, `expected intermediate rounds, saw ${seenRounds.join(" → ")}`);
      assert.ok(
        seenNums.every((v, i) => i === 0 || v > seenNums[i - 1]!),
        seenRounds.join(" → "),
      );

      // Per-node table and per-round table match the coordinator's own state.
      const state = run.coordinator.currentState;
      const rows = await page.locator('[data-testid="nodes"] tbody tr').allInnerTexts();
      assert.equal(rows.length, 3);
      const names: Record<string, string> = {};
      for (const row of rows) {
        const [name, id, connected, selected, completed, failures, rejected] = row
          .split("\t")
          .map((s) => s.trim());
        names[id!] = name!;
        assert.equal(connected, "yes");
        assert.equal(selected, String(ROUNDS));
        assert.equal(completed, String(state.nodes[id!]!.roundsCompleted));
        assert.equal(failures, "0");
        assert.equal(rejected, String(state.nodes[id!]!.rejectedMessages));
      }
      assert.deepEqual(names, { "node-alpha": "hospital-a", "node-bravo": "clinic-b", "node-charlie": "—" });
      const roundRows = await page.locator('[data-testid="rounds"] tbody tr').allInnerTexts();
      assert.equal(roundRows.length, ROUNDS);
      const history = state.history;
      for (const row of roundRows) {
        const [round, epsExample] = row.split("\t").map((s) => s.trim());
        const rec = history.find((h) => String(h.round) === round)!;
        assert.equal(epsExample, rec.epsilon.example!.toFixed(3));
      }
      // Both charts drew (uPlot renders into a canvas) with one point per round.
      assert.equal(await page.locator('[data-testid="chart-epsilon"] canvas').count(), 1);
      assert.equal(await page.locator('[data-testid="chart-quality"] canvas').count(), 1);

      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, "dashboard.png");
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(existsSync(shot));
      console.log(`dashboard screenshot: ${shot}`);
      t.diagnostic(`dashboard screenshot: ${shot}`);

      assert.deepEqual(problems, [], `browser reported problems:\n${problems.join("\n")}`);
    } finally {
      await context.close();
      await dashboard.close();
      rmSync(userDataDir, { recursive: true, force: true });
      rmSync(run.dir, { recursive: true, force: true });
    }
  });
});

describe("dashboard of a resumed run in Chromium", () => {
  it("opens on the spent ε fill at its first render, and goes offline when the connection is lost", {
    skip,
    timeout: 60_000,
  }, async () => {
    // A resumed run: 3 of its ε = 8 budget were spent before this process started.
    const monitor = new RunMonitor({
      scheme: "logreg",
      roundsPlanned: 5,
      privacyUnit: "example",
      budget: { epsilon: 8, delta: 1e-5 },
    });
    monitor.restore([
      {
        round: 1,
        participants: ["node-a"],
        failures: [],
        metrics: {},
        epsilon: { example: 3, user: null },
        seconds: 1,
        events: [],
      },
    ]);
    const dashboard = await startDashboard({ monitor, host: "127.0.0.1", port: 0 });
    const userDataDir = mkdtempSync(join(tmpdir(), "memarc-chromium-"));
    const context = await launchChromium(userDataDir);
    const pageErrors: string[] = [];
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.on("pageerror", (e) => pageErrors.push(e.message));
      // Measure the fill in the same task as the first render (before any paint): an animation
      // from 0 would read 0 here. (A string, not a function: this project compiles without DOM types.)
      await page.addInitScript(`(() => {
        new MutationObserver((_, obs) => {
          if (!document.body || !document.body.dataset.seq) return;
          obs.disconnect();
          const meter = document.querySelector('[data-testid="epsilon-meter"]');
          const fill = meter.firstElementChild;
          window.firstFill = fill.getBoundingClientRect().width / meter.getBoundingClientRect().width;
        }).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-seq"] });
      })()`);
      await page.goto(dashboard.url);
      await page.locator('[data-testid="live"][data-state="live"]').waitFor({ timeout: 15_000 });
      const firstFill = (await page.evaluate("window.firstFill")) as number;
      assert.ok(
        Math.abs(firstFill - 3 / 8) < 0.01,
        `first render drew ${firstFill} of the budget, not 0.375`,
      );
      assert.equal(await page.locator('[data-testid="epsilon"]').textContent(), "3.000");
      assert.equal(
        Number(await page.locator('[data-testid="epsilon-meter"]').getAttribute("data-fraction")),
        3 / 8,
      );

      // The coordinator goes away mid-run: the badge must not keep saying "live".
      await dashboard.close();
      await page.locator('[data-testid="live"][data-state="offline"]').waitFor({ timeout: 10_000 });
      assert.equal(await page.locator('[data-testid="live"]').textContent(), "offline");
      assert.deepEqual(pageErrors, []);
    } finally {
      await context.close();
      await dashboard.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  });
});

describe("dashboard of a real `memarc simulate` run in Chromium", () => {
  it("ends on the round count and ε of the simulation's own JSON", { skip, timeout: 300_000 }, async () => {
    const sim = startMemarc([
      "simulate",
      "--scheme",
      "logreg",
      "--clients",
      "3",
      "--rounds",
      "3",
      "--local-steps",
      "20",
      "--lr",
      "0.5",
      "--optimizer",
      "sgd",
      "--dashboard-port",
      "0",
      "--linger",
      "120",
      "--json",
    ]);
    const userDataDir = mkdtempSync(join(tmpdir(), "memarc-chromium-"));
    const context = await launchChromium(userDataDir);
    try {
      const url = (await sim.waitFor(/dashboard (http:\/\/\S+?);?\s/, 120_000))[1]!;
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(url);
      const line = (await sim.waitFor(/^(\{.*"wallSeconds".*\})$/m, 240_000, "stdout"))[1]!;
      const result = JSON.parse(line) as { rounds: number; epsilon: number };
      await page.locator('[data-testid="phase"]', { hasText: "stopped" }).waitFor({ timeout: 30_000 });
      const text = async (id: string) =>
        ((await page.locator(`[data-testid="${id}"]`).textContent()) ?? "").trim();
      assert.equal(await text("rounds-completed"), String(result.rounds));
      assert.equal(await text("epsilon"), result.epsilon.toFixed(3));
      // Nodes have left after the run, but every one of them is listed with its rounds.
      assert.equal(await page.locator('[data-testid="nodes"] tbody tr').count(), 3);
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, "dashboard-simulate.png");
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`dashboard screenshot: ${shot}`);
    } finally {
      await context.close();
      sim.child.kill("SIGINT");
      await sim.done;
      rmSync(userDataDir, { recursive: true, force: true });
    }
  });
});
