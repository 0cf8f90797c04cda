/**
 * The coordinator's durable state in `--state DIR`:
 *   state.json               round counters, privacy ledger, strategy + optimiser state, node
 *                            registry, per-round history, and the name of the weights file
 *   global-<round>.weights   the global trainable weights after that round (encoded by the
 *                            injected codec, safetensors in production)
 * Both are written with writeFileAtomic; state.json is written last and names the weights file, so
 * a crash at any point leaves a consistent pair. Older weights files are removed only after the new
 * state.json is durable.
 *
 * Integrity: state.json carries the SHA-256 of its own content and of the weights file it names, so
 * a truncated, corrupted or hand-edited file is refused on resume rather than silently trusted (a
 * checksum stops accidents, not an attacker who can write the directory — the operator's disk is
 * trusted). The ledger's content is also checked against the history it must explain (coordinator.ts).
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type CoordinatorState, STATE_VERSION, type WeightsCodec } from "../coordinator/state.js";
import { crashPoint } from "../persist/crash-points.js";
import { StateError } from "../persist/state-error.js";
import type { Weights } from "../weights.js";
import { writeFileAtomic } from "./atomic-file.js";

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");
/** Checksum of a state's content (everything but the checksum itself). */
const stateChecksum = (state: CoordinatorState) => sha256(JSON.stringify(state));

export class StateStore {
  constructor(
    readonly dir: string,
    private readonly codec: WeightsCodec,
  ) {}

  get statePath(): string {
    return join(this.dir, "state.json");
  }

  exists(): boolean {
    return existsSync(this.statePath);
  }

  load(): { state: CoordinatorState; weights: Weights | null } {
    let state: CoordinatorState & { checksum?: unknown };
    try {
      state = JSON.parse(readFileSync(this.statePath, "utf8")) as CoordinatorState & { checksum?: unknown };
    } catch (err) {
      throw new StateError(`cannot read ${this.statePath}: ${(err as Error).message}`);
    }
    if (!state || typeof state !== "object" || Array.isArray(state))
      throw new StateError(`${this.statePath}: not a coordinator state`);
    if (state.version !== STATE_VERSION) {
      throw new StateError(
        `${this.statePath}: state version ${String(state.version)}, this coordinator reads ${STATE_VERSION}`,
      );
    }
    const { checksum, ...content } = state;
    if (checksum !== stateChecksum(content as CoordinatorState))
      throw new StateError(
        `${this.statePath} fails its checksum: it was edited or corrupted after the coordinator wrote it; refusing to resume`,
      );
    if (
      !Number.isSafeInteger(state.completedRound) ||
      state.completedRound < 0 ||
      !state.ledger ||
      !Array.isArray(state.history) ||
      state.history.length !== state.completedRound
    ) {
      throw new StateError(`${this.statePath}: malformed state (completedRound/ledger/history)`);
    }
    let weights: Weights | null = null;
    if (state.weightsFile) {
      const p = join(this.dir, state.weightsFile);
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(p);
      } catch (err) {
        throw new StateError(`cannot read global weights ${p}: ${(err as Error).message}`);
      }
      if (sha256(bytes) !== state.weightsSha256)
        throw new StateError(`${p} does not match the checksum in state.json: corrupted or replaced`);
      try {
        weights = this.codec.decode(bytes);
      } catch (err) {
        throw new StateError(`cannot decode global weights ${p}: ${(err as Error).message}`);
      }
    }
    return { state: content as CoordinatorState, weights };
  }

  /** Persist state only (e.g. the ledger right after a round's events are recorded). */
  saveState(state: CoordinatorState): void {
    const withSum = { ...state, checksum: stateChecksum(state) };
    writeFileAtomic(this.statePath, `${JSON.stringify(withSum, null, 1)}\n`);
  }

  /** Persist new global weights, then the state that names them, then drop stale weight files. */
  saveRound(state: CoordinatorState, weights: Weights): void {
    const name = `global-${String(state.completedRound).padStart(6, "0")}.weights`;
    const bytes = this.codec.encode(weights);
    writeFileAtomic(join(this.dir, name), bytes, { duringWrite: "weights-during" });
    crashPoint("weights-after");
    state.weightsFile = name;
    state.weightsSha256 = sha256(bytes);
    this.saveState(state);
    for (const f of readdirSync(this.dir)) {
      const staleWeights = f.startsWith("global-") && f.endsWith(".weights") && f !== name;
      const crashLeftover = f.startsWith(".") && f.endsWith(".tmp"); // a write cut short by a crash
      if (staleWeights || crashLeftover) rmSync(join(this.dir, f), { force: true });
    }
  }
}
