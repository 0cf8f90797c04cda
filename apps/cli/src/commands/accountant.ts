import {
  type AccountantKind,
  calibrateNoiseMultiplier,
  createAccountant,
  type PldOptions,
  type PrivacySpent,
} from "@memarc/privacy";
import type { Command } from "../cli/command.js";
import { UsageError } from "../cli/errors.js";
import type { Flags } from "../cli/flags.js";

const KINDS = ["rdp", "pld"] as const;

interface Common {
  kind: AccountantKind;
  sampleRate: number;
  steps: number;
  delta: number;
  orders: number[] | undefined;
  pld: PldOptions;
}

function readCommon(flags: Flags): Common {
  const kind = flags.choice("accountant", KINDS, "rdp")!;
  const sampleRate = flags.requireNumber("sample-rate", { min: 0, max: 1 });
  const steps = flags.requireInt("steps", { min: 1 });
  const delta = flags.requireNumber("delta", { gt: 0, lt: 1 });
  const orders = flags.numberList("orders", { gt: 1 });
  if (orders && kind !== "rdp") throw new UsageError("--orders: only applies to --accountant rdp");
  const interval = flags.number("discretization-interval", { gt: 0 });
  if (interval !== undefined && kind !== "pld")
    throw new UsageError("--discretization-interval: only applies to --accountant pld");
  return {
    kind,
    sampleRate,
    steps,
    delta,
    orders,
    pld: interval === undefined ? {} : { discretizationInterval: interval },
  };
}

function details(s: PrivacySpent): Record<string, number> {
  const out: Record<string, number> = {};
  if (s.order !== undefined) out.order = s.order;
  if (s.discretizationInterval !== undefined) out.discretizationInterval = s.discretizationInterval;
  if (s.epsilonErrorBound !== undefined) out.epsilonErrorBound = s.epsilonErrorBound;
  if (s.truncatedMass !== undefined) out.truncatedMass = s.truncatedMass;
  return out;
}

function describe(s: PrivacySpent): string {
  if (s.accountant === "rdp") return `RDP, optimal order ${s.order}`;
  return `PLD, grid Δ=${s.discretizationInterval?.toExponential(3)}, ε over-estimated by at most ${s.epsilonErrorBound?.toExponential(3)}`;
}

export const accountantCommand: Command = {
  name: "accountant",
  summary: "privacy accounting for DP-SGD: ε for a noise level, or the noise for a target ε",
  usage:
    "memarc accountant --noise-multiplier Z --sample-rate Q --steps T --delta D [--accountant rdp|pld] [--orders A,B,...]\n" +
    "       memarc accountant --target-epsilon E --sample-rate Q --steps T --delta D [--accountant rdp|pld]",
  details:
    "Composes T steps of the Poisson-subsampled Gaussian mechanism (sampling rate Q, noise std Z·clip).\n" +
    "rdp (default): exact Rényi DP at orders 1.1…10.9, 11…63, 128…1024, improved RDP→(ε,δ) conversion.\n" +
    "pld: privacy-loss distributions, pessimistically discretised and composed by FFT; tighter than RDP,\n" +
    "     reports the grid Δ and the bound steps·Δ on how much ε is over-estimated.\n" +
    "With --target-epsilon, finds the smallest noise multiplier meeting (E, D) to 1e-3 relative.\n" +
    "Example: memarc accountant --noise-multiplier 1.1 --sample-rate 0.004 --steps 3000 --delta 1e-5 --json",
  options: {
    "noise-multiplier": { type: "string", value: "Z", description: "noise std / clipping norm (> 0)" },
    "target-epsilon": {
      type: "string",
      value: "E",
      description: "calibrate the noise multiplier for this ε (> 0)",
    },
    "sample-rate": { type: "string", value: "Q", description: "Poisson sampling rate in [0, 1]" },
    steps: { type: "string", value: "T", description: "number of steps (positive integer)" },
    delta: { type: "string", value: "D", description: "target δ in (0, 1)" },
    accountant: { type: "string", value: "rdp|pld", description: "accounting method (default rdp)" },
    orders: {
      type: "string",
      value: "A,B,...",
      description: "RDP orders > 1 (default 1.1…10.9, 11…63, 128…1024)",
    },
    "discretization-interval": {
      type: "string",
      value: "DX",
      description: "PLD grid width (default: automatic)",
    },
  },
  async run({ flags, out }) {
    const hasNoise = flags.has("noise-multiplier");
    const hasTarget = flags.has("target-epsilon");
    if (hasNoise && hasTarget)
      throw new UsageError("--noise-multiplier and --target-epsilon are mutually exclusive; give one");
    if (!hasNoise && !hasTarget) throw new UsageError("--noise-multiplier (or --target-epsilon) is required");
    if (hasTarget) {
      const targetEpsilon = flags.requireNumber("target-epsilon", { gt: 0 });
      const c = readCommon(flags);
      const options = { ...(c.orders ? { orders: c.orders } : {}), pld: c.pld };
      const cal = calibrateNoiseMultiplier({
        targetEpsilon,
        delta: c.delta,
        sampleRate: c.sampleRate,
        steps: c.steps,
        accountant: c.kind,
        options,
      });
      const acc = createAccountant(c.kind, options);
      acc.step({ noiseMultiplier: cal.noiseMultiplier, sampleRate: c.sampleRate, steps: c.steps });
      const spent = acc.getPrivacySpent(c.delta);
      const result = {
        noiseMultiplier: cal.noiseMultiplier,
        epsilon: spent.epsilon,
        targetEpsilon,
        delta: c.delta,
        accountant: c.kind,
        sampleRate: c.sampleRate,
        steps: c.steps,
        ...details(spent),
      };
      out.result(result, () =>
        [
          `noise multiplier ${cal.noiseMultiplier.toPrecision(6)} gives ε = ${spent.epsilon.toPrecision(6)} ≤ ${targetEpsilon} at δ = ${c.delta}`,
          `  (${c.steps} steps, sample rate ${c.sampleRate}; ${describe(spent)})`,
        ].join("\n"),
      );
      return;
    }
    const noiseMultiplier = flags.requireNumber("noise-multiplier", { gt: 0 });
    const c = readCommon(flags);
    const acc = createAccountant(c.kind, { ...(c.orders ? { orders: c.orders } : {}), pld: c.pld });
    acc.step({ noiseMultiplier, sampleRate: c.sampleRate, steps: c.steps });
    const spent = acc.getPrivacySpent(c.delta);
    const result = {
      epsilon: spent.epsilon,
      delta: c.delta,
      accountant: c.kind,
      ...details(spent),
      noiseMultiplier,
      sampleRate: c.sampleRate,
      steps: c.steps,
    };
    out.result(result, () =>
      [
        `ε = ${spent.epsilon.toPrecision(6)} at δ = ${c.delta}`,
        `  (${c.steps} steps, noise multiplier ${noiseMultiplier}, sample rate ${c.sampleRate}; ${describe(spent)})`,
      ].join("\n"),
    );
  },
};
