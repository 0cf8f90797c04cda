/**
 * The coordinator's durable state in `--state DIR`:
 *   state.json               round counters, privacy ledger, strategy + optimiser state, node
 *                            registry, per-round history, and the name of the weights file
 *   global-<round>.weights   the global trainable weights after that round (encoded by the
 *                            injected codec, safetensors in production)
 * Both are written with writeFileAtomic; state.json is written last and names the weights file, so
 * a crash at any point leaves a consistent pair. Older weights files are removed only after the new
 * state.json is durable.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../persist/atomic-file.js";
import type { Weights } from "../weights.js";
import type { LedgerJson } from "./ledger.js";

export const STATE_VERSION = 1;

export interface WeightsCodec {
  encode(w: Weights): Uint8Array;
  decode(bytes: Uint8Array): Weights;
}

export interface NodeRecord {
  firstSeen: string;
  lastSeen: string;
  roundsCompleted: number;
  rejectedMessages: number;
}

export interface RoundRecord {
  round: number;
  participants: string[];
  failures: { nodeId: string; reason: string }[];
  metrics: Record<string, number>;
  /** ε spent after this round, per unit in use (null: unit not in use). */
  epsilon: { example: number | null; user: number | null };
  seconds: number;
}

export interface CoordinatorState {
  version: number;
  /** Identifies the run's settings; resuming with a different model/scheme is refused. */
  fingerprint: string;
  /** Last round whose aggregate was applied and saved (0: none yet). */
  completedRound: number;
  /** A round whose privacy events are recorded but whose aggregate was not saved (crash or abort). */
  dispatchedRound: number | null;
  ledger: LedgerJson;
  strategy: Record<string, unknown>;
  optimizer: Record<string, unknown>;
  nodes: Record<string, NodeRecord>;
  history: RoundRecord[];
  weightsFile: string | null;
  stopReason: string | null;
}

export class StateError extends Error {
  readonly code = "E_STATE";
  constructor(message: string) {
    super(message);
    this.name = "StateError";
  }
}

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
    let state: CoordinatorState;
    try {
      state = JSON.parse(readFileSync(this.statePath, "utf8")) as CoordinatorState;
    } catch (err) {
      throw new StateError(`cannot read ${this.statePath}: ${(err as Error).message}`);
    }
    if (state.version !== STATE_VERSION) {
      throw new StateError(
        `${this.statePath}: state version ${state.version}, this coordinator reads ${STATE_VERSION}`,
      );
    }
    if (!Number.isSafeInteger(state.completedRound) || state.completedRound < 0 || !state.ledger) {
      throw new StateError(`${this.statePath}: malformed state (completedRound/ledger)`);
    }
    let weights: Weights | null = null;
    if (state.weightsFile) {
      const p = join(this.dir, state.weightsFile);
      try {
        weights = this.codec.decode(readFileSync(p));
      } catch (err) {
        throw new StateError(`cannot read global weights ${p}: ${(err as Error).message}`);
      }
    }
    return { state, weights };
  }

  /** Persist state only (e.g. the ledger right after a round's events are recorded). */
  saveState(state: CoordinatorState): void {
    writeFileAtomic(this.statePath, `${JSON.stringify(state, null, 1)}\n`);
  }

  /** Persist new global weights, then the state that names them, then drop stale weight files. */
  saveRound(state: CoordinatorState, weights: Weights): void {
    const name = `global-${String(state.completedRound).padStart(6, "0")}.weights`;
    writeFileAtomic(join(this.dir, name), this.codec.encode(weights));
    this.saveState({ ...state, weightsFile: name });
    state.weightsFile = name;
    for (const f of readdirSync(this.dir)) {
      if (f.startsWith("global-") && f.endsWith(".weights") && f !== name)
        rmSync(join(this.dir, f), { force: true });
    }
  }
}
