import { DEFAULT_ORDERS, PldAccountant, RdpAccountant } from "@memarc/privacy";
import { median } from "@memarc/train";
import type { Command } from "../cli/command.js";

function time<T>(f: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = f();
  return { ms: performance.now() - t0, value };
}

const round = (x: number, d = 4) => Number(x.toFixed(d));

const SETTINGS = [
  { sampleRate: 0.01, noiseMultiplier: 1, steps: 10_000, delta: 1e-5 },
  { sampleRate: 0.0025, noiseMultiplier: 1.3, steps: 6_000, delta: 1e-5 },
  { sampleRate: 0.004, noiseMultiplier: 1.1, steps: 3_000, delta: 1e-5 },
];

export const benchAccountantCommand: Command = {
  name: "accountant",
  summary: "time RDP (10^5 steps) and PLD (10^4 steps) accounting; compare PLD ε with RDP ε",
  details:
    "Each run builds a fresh accountant (no caching across runs). Targets: RDP < 10 ms, PLD < 2 s.\n" +
    "Medians over --runs runs (default 7 for RDP, 3 for PLD) after one warm-up.",
  options: { runs: { type: "string", value: "N", description: "RDP timing runs (default 7)" } },
  async run({ flags, out }) {
    const runs = flags.int("runs", { min: 1, max: 1000 }) ?? 7;
    const rdpEvent = { noiseMultiplier: 1, sampleRate: 0.01, steps: 100_000 };
    const rdpOnce = () => new RdpAccountant().step(rdpEvent).getPrivacySpent(1e-5);
    rdpOnce();
    const rdpTimes: number[] = [];
    let rdpSpent = rdpOnce();
    for (let i = 0; i < runs; i++) {
      const r = time(rdpOnce);
      rdpTimes.push(r.ms);
      rdpSpent = r.value;
    }
    out.progress(`rdp: median ${median(rdpTimes).toFixed(2)} ms`);
    const pldEvent = { noiseMultiplier: 1, sampleRate: 0.01, steps: 10_000 };
    const pldOnce = () => new PldAccountant().step(pldEvent).getPrivacySpent(1e-5);
    const pldTimes: number[] = [];
    let pldSpent = pldOnce();
    for (let i = 0; i < 3; i++) {
      const r = time(pldOnce);
      pldTimes.push(r.ms);
      pldSpent = r.value;
    }
    out.progress(`pld: median ${median(pldTimes).toFixed(0)} ms`);
    const comparisons = SETTINGS.map((s) => {
      const ev = { noiseMultiplier: s.noiseMultiplier, sampleRate: s.sampleRate, steps: s.steps };
      const rdp = new RdpAccountant().step(ev).getPrivacySpent(s.delta);
      const pld = time(() => new PldAccountant().step(ev).getPrivacySpent(s.delta));
      out.progress(
        `q=${s.sampleRate} σ=${s.noiseMultiplier} T=${s.steps}: rdp ${rdp.epsilon} pld ${pld.value.epsilon}`,
      );
      return {
        ...s,
        rdpEpsilon: round(rdp.epsilon, 6),
        rdpOrder: rdp.order,
        pldEpsilon: round(pld.value.epsilon, 6),
        pldEpsilonErrorBound: round(pld.value.epsilonErrorBound!, 6),
        pldDiscretizationInterval: pld.value.discretizationInterval,
        pldMs: round(pld.ms, 1),
      };
    });
    const rdpMs = median(rdpTimes);
    const pldMs = median(pldTimes);
    const result = {
      benchmark: "accountant",
      rdp: {
        ...rdpEvent,
        delta: 1e-5,
        orders: DEFAULT_ORDERS.length,
        epsilon: round(rdpSpent.epsilon, 6),
        medianMs: round(rdpMs, 3),
        runsMs: rdpTimes.map((t) => round(t, 3)),
        targetMs: 10,
      },
      pld: {
        ...pldEvent,
        delta: 1e-5,
        epsilon: round(pldSpent.epsilon, 6),
        epsilonErrorBound: round(pldSpent.epsilonErrorBound!, 6),
        discretizationInterval: pldSpent.discretizationInterval,
        medianMs: round(pldMs, 1),
        runsMs: pldTimes.map((t) => round(t, 1)),
        targetMs: 2000,
      },
      comparisons,
      meetsTargets: rdpMs < 10 && pldMs < 2000,
    };
    out.result(result, () =>
      [
        `RDP, 1e5 steps, ${DEFAULT_ORDERS.length} orders: ${rdpMs.toFixed(2)} ms (target 10 ms)`,
        `PLD, 1e4 steps: ${pldMs.toFixed(0)} ms (target 2000 ms), ε ${pldSpent.epsilon.toFixed(4)} ± ${pldSpent.epsilonErrorBound?.toFixed(4)}`,
        ...comparisons.map(
          (c) =>
            `q=${c.sampleRate} σ=${c.noiseMultiplier} T=${c.steps} δ=${c.delta}: RDP ε=${c.rdpEpsilon}, PLD ε=${c.pldEpsilon} (bound ${c.pldEpsilonErrorBound})`,
        ),
      ].join("\n"),
    );
  },
};
