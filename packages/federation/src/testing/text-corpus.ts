/**
 * A small synthetic labelled text task for tests (not a benchmark): spam-like vs meeting-like
 * sentences sharing filler words, deterministic for a seed.
 */
export function syntheticTextTask(n: number, seed: number): { texts: string[]; labels: Int32Array } {
  const spam = ["free", "winner", "cash", "viagra", "offer", "click", "prize", "cheap"];
  const ham = ["meeting", "agenda", "review", "project", "lunch", "schedule", "report", "team"];
  const filler = ["the", "a", "to", "and", "of", "you", "for", "this"];
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const pick = (a: string[]) => a[Math.floor(rnd() * a.length)]!;
  const texts: string[] = [];
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    texts.push(
      Array.from({ length: 8 }, () => (rnd() < 0.5 ? pick(labels[i] ? spam : ham) : pick(filler))).join(" "),
    );
  }
  return { texts, labels };
}
