// uPlot charts for the dashboard: ε over rounds against the budget, and loss/accuracy curves.
import uPlot from "/vendor/uPlot.esm.js";

const HEIGHT = 240;
// Rounds are integers: tick at whole rounds only.
const ROUND_AXIS = { label: "round", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] };

function width(el) {
  return Math.max(280, el.clientWidth || 600);
}

function make(el, series, scales, axes) {
  const chart = new uPlot(
    { width: width(el), height: HEIGHT, scales, series: [{ label: "round" }, ...series], axes },
    [[], ...series.map(() => [])],
    el,
  );
  new ResizeObserver(() => chart.setSize({ width: width(el), height: HEIGHT })).observe(el);
  return chart;
}

export function createCharts(epsilonEl, qualityEl) {
  const epsilon = make(
    epsilonEl,
    [
      { label: "ε example", stroke: "#2f6fb3", width: 2, points: { show: true } },
      { label: "ε user", stroke: "#7a3fb3", width: 2, points: { show: true } },
      { label: "budget", stroke: "#b3452f", dash: [6, 4], width: 1.5, points: { show: false } },
    ],
    { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(max, 1e-9) * 1.1] } },
    [ROUND_AXIS, { label: "ε" }],
  );
  const quality = make(
    qualityEl,
    [
      { label: "loss", stroke: "#b36b2f", width: 2, scale: "loss", points: { show: true } },
      { label: "accuracy", stroke: "#1b8a4a", width: 2, scale: "acc", points: { show: true } },
    ],
    { x: { time: false }, loss: { auto: true }, acc: { range: [0, 1] } },
    [ROUND_AXIS, { label: "loss", scale: "loss" }, { label: "accuracy", scale: "acc", side: 1 }],
  );
  return {
    update(snap) {
      const rounds = snap.rounds;
      const x = rounds.map((r) => r.round);
      epsilon.setData([
        x,
        rounds.map((r) => r.epsilon.example),
        rounds.map((r) => r.epsilon.user),
        rounds.map(() => snap.settings.budget.epsilon),
      ]);
      quality.setData([x, rounds.map((r) => r.loss), rounds.map((r) => r.accuracy)]);
    },
  };
}
