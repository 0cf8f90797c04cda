/** Learning-rate schedules: step (0-based) → learning rate. */
export type Schedule = (step: number) => number;
export type ScheduleName = "constant" | "linear" | "cosine";
export const SCHEDULES: readonly ScheduleName[] = ["constant", "linear", "cosine"];

/**
 * Linear warm-up over `warmupSteps`, then constant, linear decay to 0, or cosine decay to 0 at
 * `totalSteps`. Warm-up matters under DP: the first noisy steps from a fresh head are the largest.
 */
export function makeSchedule(
  name: ScheduleName,
  peak: number,
  totalSteps: number,
  warmupSteps = 0,
): Schedule {
  if (!(peak > 0)) throw new RangeError(`learning rate must be > 0, got ${peak}`);
  const total = Math.max(1, totalSteps);
  const warm = Math.max(0, Math.min(warmupSteps, total - 1));
  return (step) => {
    if (step < warm) return (peak * (step + 1)) / (warm + 1);
    const progress = Math.min(1, (step - warm) / Math.max(1, total - warm));
    switch (name) {
      case "constant":
        return peak;
      case "linear":
        return peak * (1 - progress);
      case "cosine":
        return peak * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
  };
}
