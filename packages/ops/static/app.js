// The dashboard page: reads /api/state once, then follows /api/events (SSE). Everything is written
// with textContent — node ids and failure reasons are shown, never interpreted as markup.
import { createCharts } from "/static/charts.js";

const $ = (id) => document.getElementById(id);
const fmtEps = (v) => (v === null || v === undefined ? "—" : v.toFixed(3));
const fmtNum = (v, d = 4) => (v === null || v === undefined ? "—" : Number(v.toFixed(d)).toString());

function fmtBytes(n) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function phaseDetail(s) {
  if (s.phase === "stopped") return `stopped: ${s.stopReason ?? "?"}`;
  if (s.waitingFor)
    return `round ${s.waitingFor.round}: ${s.waitingFor.connected} of ${s.waitingFor.needed} nodes connected`;
  if (s.phase === "training" || s.phase === "aggregating")
    return `${s.updatesReceived} of ${s.roundParticipants.length} updates received`;
  return "";
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function fillTable(body, rows, render) {
  const frag = document.createDocumentFragment();
  for (const r of rows) {
    const tr = document.createElement("tr");
    render(tr, r);
    frag.appendChild(tr);
  }
  body.replaceChildren(frag);
}

let charts = null;

function render(s) {
  const st = s.settings;
  $("settings").textContent =
    `${st.scheme} scheme` +
    (st.strategy ? `, ${st.strategy}` : "") +
    `, ${st.privacyUnit}-level DP, budget ε=${st.budget.epsilon} δ=${st.budget.delta}, ${st.roundsPlanned} rounds planned`;
  $("phase").textContent = s.phase;
  $("phase").dataset.phase = s.phase;
  $("phase-detail").textContent = phaseDetail(s);
  $("rounds-completed").textContent = String(s.completedRounds);
  $("rounds-planned").textContent = String(st.roundsPlanned);
  $("current-round").textContent = String(s.currentRound);
  const spent = s.epsilon[st.privacyUnit];
  $("epsilon-unit").textContent = st.privacyUnit;
  $("epsilon").textContent = fmtEps(spent);
  $("epsilon-budget").textContent = String(st.budget.epsilon);
  $("delta").textContent = String(st.budget.delta);
  $("epsilon-example").textContent = fmtEps(s.epsilon.example);
  $("epsilon-user").textContent = fmtEps(s.epsilon.user);
  renderMeter(s.budgetUsed);
  $("connected").textContent = String(s.connectedNodes.length);
  $("bytes-in").textContent = fmtBytes(s.bytes.received);
  $("bytes-out").textContent = fmtBytes(s.bytes.sent);
  const codes = Object.entries(s.rejected);
  $("rejected").textContent = codes.length ? codes.map(([c, n]) => `${c} ×${n}`).join(", ") : "none";
  fillTable($("nodes-body"), s.nodes, (tr, n) => {
    tr.className = n.connected ? "online" : "offline";
    cell(tr, n.name ?? "—", "name");
    cell(tr, n.id, "id").title = n.id;
    cell(tr, n.connected ? "yes" : "no");
    cell(tr, n.roundsSelected);
    cell(tr, n.roundsCompleted);
    cell(tr, n.failures);
    cell(tr, n.rejectedMessages);
  });
  fillTable($("rounds-body"), [...s.rounds].reverse(), (tr, r) => {
    cell(tr, r.round);
    cell(tr, fmtEps(r.epsilon.example));
    cell(tr, fmtEps(r.epsilon.user));
    cell(tr, fmtNum(r.loss));
    cell(tr, fmtNum(r.accuracy));
    cell(tr, r.participants);
    cell(tr, r.failures);
    cell(tr, r.seconds.toFixed(2));
  });
  charts ??= createCharts($("chart-epsilon"), $("chart-quality"));
  charts.update(s);
  document.body.dataset.seq = String(s.seq);
}

// The meter is drawn from the snapshot's budgetUsed, which every snapshot carries (a resumed run's
// first one already has ε spent). Its width animates between updates, but not from 0 on the first
// render: the page must open on the true fill, not slide up to it.
function renderMeter(used) {
  const meter = $("epsilon-meter");
  const fill = $("epsilon-meter-fill");
  const pct = Math.min(100, Math.max(0, used.fraction * 100));
  fill.style.width = `${pct}%`;
  fill.classList.toggle("over", used.fraction >= 1);
  meter.title = `ε ${used.epsilon} of ${used.budget}`;
  meter.dataset.fraction = String(used.fraction);
  if (!meter.classList.contains("drawn")) {
    void fill.offsetWidth; // commit the first width before transitions are switched on
    meter.classList.add("drawn");
  }
}

// The badge says "live" only while both hold: the stream is open AND the run is still going. A
// stopped run (completed, budget spent, failed) shows "stopped" even though the dashboard may
// linger; a lost connection shows "offline" (EventSource keeps retrying, and the badge comes back
// to "live" if a resumed coordinator answers again).
let connection = "connecting"; // "connecting" | "open" | "lost"
let running = null; // unknown until the first snapshot

function showLive() {
  let state = "connecting";
  if (running === false) state = "stopped";
  else if (connection === "lost") state = "offline";
  else if (connection === "open" && running) state = "live";
  $("live").dataset.state = state;
  $("live").textContent = state;
}

function setConnection(c) {
  connection = c;
  showLive();
}

let lastSeq = -1;
function accept(s) {
  if (s.seq < lastSeq) return; // a stale /api/state reply racing the stream
  lastSeq = s.seq;
  running = s.running;
  render(s);
  showLive();
}

fetch("/api/state")
  .then((r) => r.json())
  .then(accept)
  .catch(() => {
    if (connection !== "open") setConnection("lost");
  });

const events = new EventSource("/api/events");
events.onopen = () => setConnection("open");
events.onerror = () => setConnection("lost");
events.onmessage = (m) => {
  connection = "open";
  accept(JSON.parse(m.data));
};
