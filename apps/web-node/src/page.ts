/**
 * The browser node's page: shows the run, keeps this browser's node key and reads its local ε from
 * IndexedDB, validates the person's file here (it is never uploaded), and runs the training Worker.
 */
import { DEFAULT_MAX_FILE_BYTES, MIN_NODE_EXAMPLES, parseUserData, userDataToDataset } from "@memarc/data";
import { accountantFromJSON } from "@memarc/privacy";
import { nodeIdString, parsePublicKey } from "@memarc/protocol";
import type { JoinRequest, ToWorker, WorkerStatus } from "./messages.js";
import { loadOrCreateNodeKey, nodePublicKey } from "./node-key.js";
import { fingerprintHex, labelClasses, type RunInfo } from "./run-info.js";
import { databaseFor, openNodeDatabase, readValue } from "./store.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`page: no element ${id}`);
  return el;
};
const field = (name: string) => document.querySelector<HTMLElement>(`[data-field="${name}"]`)!;

function setStatus(text: string, state: string): void {
  const s = $("status");
  s.textContent = text;
  s.dataset.state = state;
}

function logLine(text: string): void {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $("log").append(li);
}

const formatEpsilon = (e: number | null) => (e === null ? "0 (nothing spent yet)" : e.toFixed(3));

async function main(): Promise<void> {
  const base = new URL("./", location.href).href;
  const run = (await (await fetch("run.json", { cache: "no-store" })).json()) as RunInfo;
  field("scheme").textContent = `${run.scheme}, ${run.contextLength} tokens per example`;
  field("unit").textContent =
    run.privacyUnit === "user"
      ? "user (one browser = one person; DP-FedAvg)"
      : "example (DP-SGD in this browser)";
  field("budget").textContent = `ε ${run.epsilon} at δ ${run.delta}`;
  field("rounds").textContent = String(run.rounds);
  field("enrolment").textContent =
    run.enrolment === "token" ? "join token (ask the operator)" : "the operator approves this browser's key";
  for (const el of document.querySelectorAll<HTMLElement>("[data-show]"))
    el.hidden = el.dataset.show === "token" ? run.enrolment !== "token" : run.privacyUnit !== "user";

  // The key pinned here must be the one run.json names: recompute its fingerprint.
  const keyBytes = parsePublicKey(run.coordinatorKey);
  if (!keyBytes) throw new Error("run.json: bad coordinator key");
  const fingerprint = fingerprintHex(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(keyBytes))),
  );
  field("fingerprint").textContent = fingerprint;
  if (fingerprint !== run.fingerprint) throw new Error("run.json's fingerprint does not match its key");

  const db = await openNodeDatabase(databaseFor(run.coordinatorKey));
  const nodeKey = await loadOrCreateNodeKey(db);
  $("node-key").textContent = nodeIdString(nodePublicKey(nodeKey));
  $("node-key").dataset.kind = nodeKey.kind;
  const showLocalEpsilon = async () => {
    const json = await readValue<string>(db, "accountant");
    const acc = json ? accountantFromJSON(json) : null;
    $("local-epsilon").textContent = formatEpsilon(
      acc && acc.totalSteps > 0 ? acc.getEpsilon(run.delta) : null,
    );
  };
  await showLocalEpsilon();
  const persisted = (await navigator.storage?.persist?.()) ?? false;
  $("storage").textContent = persisted
    ? "persistent (the browser will not evict this node's key and ε)"
    : "best effort: clearing site data would forget this node's key and the ε it spent";

  const maxEps = $<HTMLInputElement>("max-epsilon");
  maxEps.value = String(run.epsilon);
  // One Web Worker per core, up to 4 and one per 2 GB of memory where the browser says how much it
  // has: each worker holds its own copy of the backbone and its own wasm heap.
  const threadsInput = $<HTMLInputElement>("threads");
  const memoryGb = (navigator as { deviceMemory?: number }).deviceMemory ?? 8;
  threadsInput.value = String(
    Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1, Math.floor(memoryGb / 2))),
  );
  let file: { name: string; text: string } | null = null;
  const join = $<HTMLButtonElement>("join");
  const leave = $<HTMLButtonElement>("leave");

  $<HTMLInputElement>("file").addEventListener("change", async (e) => {
    const chosen = (e.target as HTMLInputElement).files?.[0];
    file = null;
    join.disabled = true;
    const v = $("validation");
    v.className = "note";
    if (!chosen) {
      v.textContent = "No file chosen.";
      return;
    }
    try {
      if (chosen.size > DEFAULT_MAX_FILE_BYTES)
        throw new Error(
          `${chosen.name} is ${chosen.size} bytes, more than the limit of ${DEFAULT_MAX_FILE_BYTES}`,
        );
      const text = await chosen.text();
      const classes = labelClasses(run);
      const d = userDataToDataset(parseUserData(chosen.name, text, classes ? { classes } : {}));
      if (d.numClasses > run.classNames.length)
        throw new Error(`${d.numClasses} classes in the file, the run has ${run.classNames.length}`);
      if (d.texts.length < MIN_NODE_EXAMPLES)
        throw new Error(`only ${d.texts.length} records; a node needs at least ${MIN_NODE_EXAMPLES}`);
      const counts = d.classNames.map((c, i) => `${d.labels.filter((l) => l === i).length} ${c}`).join(", ");
      v.textContent = `${d.texts.length} records validated (${counts}). They stay in this browser.`;
      v.className = "note ok";
      v.dataset.records = String(d.texts.length);
      file = { name: chosen.name, text };
      join.disabled = false;
    } catch (err) {
      v.textContent = `Cannot use ${chosen.name}: ${(err as Error).message}`;
      v.className = "note bad";
    }
  });

  let worker: Worker | null = null;
  const stop = () => {
    worker?.terminate();
    worker = null;
    leave.disabled = true;
  };

  join.addEventListener("click", () => {
    if (!file) return;
    const ceiling = maxEps.value.trim().toLowerCase();
    const maxEpsilon = ceiling === "inf" || ceiling === "" ? null : Number(ceiling);
    const maxDelta = Number($<HTMLInputElement>("max-delta").value);
    if ((maxEpsilon !== null && !(maxEpsilon > 0)) || !(maxDelta > 0 && maxDelta < 1)) {
      setStatus("Your ε ceiling must be a positive number (or inf) and δ in (0, 1).", "error");
      return;
    }
    const threads = Number(threadsInput.value);
    if (!Number.isInteger(threads) || threads < 1 || threads > 16) {
      setStatus("DP-step workers must be a whole number from 1 to 16.", "error");
      return;
    }
    join.disabled = true;
    leave.disabled = false;
    setStatus("Starting…", "joining");
    worker = new Worker(new URL("worker.js", base), { type: "module" });
    worker.onerror = (e) => {
      setStatus(`The training worker failed: ${e.message}`, "error");
      stop();
    };
    worker.onmessage = (e: MessageEvent<WorkerStatus>) => onStatus(e.data);
    const token = $<HTMLInputElement>("join-token").value;
    const request: JoinRequest = {
      type: "join",
      run,
      base,
      nodeKey,
      file,
      maxEpsilon,
      maxDelta,
      acceptCentralDp: $<HTMLInputElement>("central-dp").checked,
      ...(token ? { joinToken: token } : {}),
      backend: $<HTMLSelectElement>("backend").value,
      threads,
      database: databaseFor(run.coordinatorKey),
    };
    worker.postMessage(request satisfies ToWorker);
  });

  leave.addEventListener("click", () => {
    worker?.postMessage({ type: "leave" } satisfies ToWorker);
    setStatus("Leaving…", "leaving");
    leave.disabled = true;
  });

  let rounds = 0;
  function onStatus(m: WorkerStatus): void {
    switch (m.type) {
      case "status":
        setStatus(`${m.text[0]!.toUpperCase()}${m.text.slice(1)}…`, "joining");
        logLine(m.text);
        return;
      case "backend":
        $("backend-used").textContent = `${m.name} (${m.provider})`;
        logLine(`backend ${m.name}${m.skipped.length ? `; skipped: ${m.skipped.join("; ")}` : ""}`);
        return;
      case "prepare":
        setStatus(`Reading your examples with the backbone: ${m.done} / ${m.total}`, "preparing");
        $<HTMLProgressElement>("progress").value = m.done / m.total;
        return;
      case "connected":
        setStatus("Connected: waiting for a round", "waiting");
        logLine("connected to the coordinator");
        return;
      case "step":
        setStatus(`Round ${m.round}: DP step ${m.step} of ${m.steps}`, "training");
        $<HTMLProgressElement>("progress").value = m.step / m.steps;
        return;
      case "round":
        rounds++;
        $("rounds-trained").textContent = String(rounds);
        $("local-epsilon").textContent = formatEpsilon(m.epsilon);
        setStatus(`Round ${m.round} sent: waiting for the next`, "waiting");
        logLine(`round ${m.round}: update sent, ε spent here ${formatEpsilon(m.epsilon)}`);
        return;
      case "evaluated":
        $("local-epsilon").textContent = formatEpsilon(m.epsilon);
        logLine(`round ${m.round}: noised evaluation sent`);
        return;
      case "refused":
        logLine(`round ${m.round}: refused (${m.code}): ${m.message}`);
        return;
      case "disconnected":
        setStatus(`Disconnected (${m.reason}); reconnecting`, "waiting");
        logLine(`disconnected: ${m.reason}`);
        return;
      case "finished":
        setStatus(`Finished: ${m.reason}. Rounds trained: ${m.roundsTrained}.`, "finished");
        logLine(`finished (${m.reason})`);
        void showLocalEpsilon();
        stop();
        return;
      case "error":
        setStatus(`Stopped: ${m.message} (${m.code})`, "error");
        logLine(`error ${m.code}: ${m.message}`);
        stop();
        return;
    }
  }
}

main().catch((err: unknown) => setStatus(`This page cannot start: ${(err as Error).message}`, "error"));
