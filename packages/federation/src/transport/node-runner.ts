/**
 * A federated node: connects to the coordinator (pinning its key), trains each round task with the
 * local DP-SGD engine, and sends back the signed, sealed update. It keeps its own accountant,
 * persisted BEFORE each update or evaluation leaves the machine, and reconnects with exponential
 * backoff when the connection drops (e.g. a coordinator restart). It exits when the coordinator
 * says goodbye. What it sends is only what its LocalTrainer releases (see local-trainer.ts); a
 * refusal carries the policy's reason, a failure only a code (its details stay in the local log).
 */
import { accountantFromJSON, createAccountant, type PrivacyAccountant } from "@memarc/privacy";
import {
  type Capabilities,
  ClientChannel,
  type ClientSession,
  type CoordinatorMessage,
  describeCloseReason,
  type Logger,
  type NodeIdentity,
  silentLogger,
} from "@memarc/protocol";
import type { TrainingRandom } from "@memarc/train";
import type { LocalModel } from "../client/local-model.js";
import { LocalTrainer, type NodePrivacyPolicy, PolicyError } from "../client/local-trainer.js";
import { crashPoint } from "../persist/crash-points.js";
import { StateError } from "../persist/state-error.js";
import type { LocalTrainingPlan } from "../plan/local-training-plan.js";
import { fromNamedTensors, fromRoundTask, toNamedTensors } from "./task-config.js";

/** What a node needs to build the model a plan trains: the scheme and its input length. */
export type ModelSpec = Pick<LocalTrainingPlan, "scheme" | "contextLength">;

export interface NodeRunnerOptions {
  url: string;
  identity: NodeIdentity;
  coordinatorKey: Uint8Array;
  joinToken?: string;
  ca?: string;
  capabilities: Capabilities;
  /**
   * Builds (once per scheme) the model a task asks for, from the plan's model settings (scheme,
   * context length).
   */
  model: (spec: ModelSpec) => Promise<LocalModel>;
  random: TrainingRandom;
  /** The operator's privacy policy (ε ceiling, accepted δ, central DP opt-in); no task overrides it. */
  policy: NodePrivacyPolicy;
  /** Where the node's accountant is persisted (JSON); undefined keeps it in memory only. */
  accountantStore?: AccountantStore;
  /**
   * Asked when a connection to a plain URL is reset: an Error saying the port speaks TLS, or null.
   * (The CLI passes protocol/node's plainAgainstTls; a browser cannot probe.)
   */
  probeTls?: (url: string) => Promise<Error | null>;
  logger?: Logger;
  backoff?: { initialMs: number; maxMs: number };
  /** Give up after this many consecutive failed connection attempts (default: never). */
  maxAttempts?: number;
  signal?: AbortSignal;
  onEvent?: (e: NodeEvent) => void;
}

/**
 * Durable storage for the node's accountant: a file under Node (node/accountant-store.ts), IndexedDB
 * in a browser. `save` resolves only once the JSON is durable.
 */
export interface AccountantStore {
  /** Names the place in error messages (a path, a database). */
  readonly where: string;
  /** The saved JSON, or null when nothing was ever saved. */
  load(): Promise<string | null>;
  save(json: string): Promise<void>;
}

export type NodeEvent =
  /** `attempt`: which try got through — 1 at once, n after n − 1 failed tries since the last connection. */
  | { type: "connected"; attempt: number }
  | { type: "disconnected"; reason: string }
  | { type: "round"; round: number; epsilon: number | null }
  | { type: "step"; round: number; step: number; steps: number; loss: number }
  | { type: "evaluated"; round: number; epsilon: number | null }
  | { type: "refused"; round: number; code: string; message: string }
  | { type: "finished"; reason: string };

export interface NodeRunSummary {
  reason: string;
  roundsTrained: number;
  epsilon: number | null;
}

export class NodeRunner {
  private ledger: PrivacyAccountant = createAccountant("rdp");
  private restored: Promise<void> | undefined;
  private readonly models = new Map<string, Promise<LocalModel>>();
  private readonly trainers = new Map<string, LocalTrainer>();
  private roundsTrained = 0;

  constructor(private readonly o: NodeRunnerOptions) {}

  /** The node's accountant: the ε it has spent, restored from its store by run() or prepare(). */
  get accountant(): PrivacyAccountant {
    return this.ledger;
  }

  /** Load the saved accountant once, before any trainer exists (trainers hold a reference to it). */
  private restore(): Promise<void> {
    this.restored ??= (async () => {
      const store = this.o.accountantStore;
      if (store) this.ledger = await loadAccountant(store);
    })();
    return this.restored;
  }

  private get log(): Logger {
    return this.o.logger ?? silentLogger;
  }

  private emit(e: NodeEvent): void {
    this.o.onEvent?.(e);
  }

  /**
   * Build the model for `scheme` now (e.g. compute the frozen-backbone feature cache) instead of on
   * the first task, so the first round is not held up by one-off preparation.
   */
  async prepare(spec: ModelSpec): Promise<void> {
    await this.restore();
    await this.trainerFor(spec);
  }

  /** The node's ε at the δ of the run it serves (before any task: the policy's δ). */
  epsilon(): number | null {
    if (this.accountant.totalSteps === 0) return null;
    return this.accountant.getEpsilon(this.runDelta ?? this.o.policy.maxDelta);
  }

  private runDelta: number | null = null;

  private async trainerFor(spec: ModelSpec): Promise<{ model: LocalModel; trainer: LocalTrainer }> {
    const scheme = spec.scheme;
    let m = this.models.get(scheme);
    if (!m) {
      m = this.o.model(spec);
      this.models.set(scheme, m);
    }
    const model = await m;
    let trainer = this.trainers.get(scheme);
    if (!trainer) {
      trainer = new LocalTrainer(
        model,
        {
          random: this.o.random,
          policy: this.o.policy,
          onProgress: (p) =>
            this.emit({ type: "step", round: p.round, step: p.step, steps: p.steps, loss: p.loss }),
        },
        this.accountant,
      );
      this.trainers.set(scheme, trainer);
    }
    return { model, trainer };
  }

  private async persistAccountant(): Promise<void> {
    await this.o.accountantStore?.save(JSON.stringify(this.accountant.toJSON()));
    crashPoint("accountant-after");
  }

  /** Connect (with backoff) and serve until the coordinator says goodbye or the signal aborts. */
  async run(): Promise<NodeRunSummary> {
    try {
      await this.restore();
      return await this.connectAndServe();
    } finally {
      // The run is over: free the models (tensors, DP-step worker threads) it built.
      const models = [...this.models.values()];
      this.models.clear();
      this.trainers.clear();
      for (const m of await Promise.allSettled(models)) if (m.status === "fulfilled") m.value.dispose?.();
    }
  }

  private async connectAndServe(): Promise<NodeRunSummary> {
    const backoff = this.o.backoff ?? { initialMs: 1000, maxMs: 30_000 };
    let wait = backoff.initialMs;
    let failures = 0;
    while (!this.o.signal?.aborted) {
      let session: ClientSession;
      try {
        session = await ClientChannel.connect({
          url: this.o.url,
          identity: this.o.identity,
          coordinatorKey: this.o.coordinatorKey,
          capabilities: this.o.capabilities,
          ...(this.o.joinToken ? { joinToken: this.o.joinToken } : {}),
          ...(this.o.ca ? { ca: this.o.ca } : {}),
          logger: this.log,
        });
      } catch (caught) {
        failures++;
        let err = caught;
        // A reset on a plain URL may be a TLS port: ask the port, and give up with the reason if so.
        if ((err as { details?: { cause?: string } }).details?.cause === "ECONNRESET" && this.o.probeTls)
          err = (await this.o.probeTls(this.o.url)) ?? err;
        const code = (err as { code?: string }).code ?? "E_CONNECT";
        // A refusal by the coordinator (unknown node, wrong key, version) or a TLS failure (untrusted
        // certificate, wrong scheme) will not fix itself.
        if (
          [
            "E_TLS",
            "E_NOT_ADMITTED",
            "E_UNKNOWN_NODE",
            "E_UNKNOWN_COORDINATOR",
            "E_VERSION",
            "E_BAD_TOKEN",
            "E_BAD_SIGNATURE",
          ].includes(code)
        ) {
          throw err;
        }
        if (this.o.maxAttempts !== undefined && failures >= this.o.maxAttempts) throw err;
        this.log.warn(
          `cannot reach coordinator (${(err as Error).message}); retrying in ${Math.round(wait / 1000)} s`,
        );
        await sleep(wait, this.o.signal);
        wait = Math.min(backoff.maxMs, wait * 2);
        continue;
      }
      const attempt = failures + 1;
      failures = 0;
      wait = backoff.initialMs;
      this.emit({ type: "connected", attempt });
      const reason = await this.serve(session);
      if (reason !== null) {
        this.emit({ type: "finished", reason });
        return { reason, roundsTrained: this.roundsTrained, epsilon: this.epsilon() };
      }
    }
    return { reason: "aborted", roundsTrained: this.roundsTrained, epsilon: this.epsilon() };
  }

  /** Serve one session. Returns the coordinator's goodbye reason, or null if the connection dropped. */
  private async serve(session: ClientSession): Promise<string | null> {
    const onAbort = () => session.close("node stopping");
    this.o.signal?.addEventListener("abort", onAbort);
    try {
      for (;;) {
        let m: CoordinatorMessage;
        try {
          m = await session.next();
        } catch (err) {
          // The session closes itself on the coordinator's goodbye, which next() may never see: it came
          // while we were training, or even before this loop started.
          const closed = session.closeReason;
          if (closed?.kind === "bye" && closed.by === "peer") return closed.reason;
          const reason = closed ? describeCloseReason(closed) : (err as Error).message;
          this.emit({ type: "disconnected", reason });
          return null;
        }
        if (m.type === "bye") return m.reason;
        if (m.type === "round_task") await this.handleRound(session, m);
        else if (m.type === "evaluate_task") await this.handleEvaluate(session, m);
        else if (m.type === "error") this.log.warn(`coordinator error ${m.code}: ${m.message}`);
      }
    } finally {
      this.o.signal?.removeEventListener("abort", onAbort);
    }
  }

  private async handleRound(session: ClientSession, m: Extract<CoordinatorMessage, { type: "round_task" }>) {
    try {
      const request = fromRoundTask(m);
      const { trainer } = await this.trainerFor(request.plan);
      const delta = m.training.dp?.delta ?? this.o.policy.maxDelta;
      const reply = await trainer.fit(request, delta);
      this.runDelta = delta;
      await this.persistAccountant(); // durable before anything derived from the data leaves the node
      const epsilon = this.epsilon();
      await session.send({
        type: "update",
        roundId: m.roundId,
        delta: toNamedTensors(reply.delta, Object.fromEntries(m.weights.map((t) => [t.name, t.shape]))),
        epsilonSpent: epsilon ?? 0,
        unclipped: reply.unclipped,
      });
      this.roundsTrained++;
      this.emit({ type: "round", round: m.roundId, epsilon });
    } catch (err) {
      await this.refuse(session, m.roundId, err, "E_TRAINING");
    }
  }

  private async handleEvaluate(
    session: ClientSession,
    m: Extract<CoordinatorMessage, { type: "evaluate_task" }>,
  ) {
    try {
      const [entry] = [...this.trainers.values()];
      if (!entry)
        throw new PolicyError("E_NOT_PRIVATE", "no model trained yet on this node: nothing to evaluate");
      const [model] = await Promise.all([...this.models.values()]);
      await model?.prepareEvaluation?.();
      const reply = entry.evaluate(
        {
          round: m.roundId,
          weights: fromNamedTensors(m.weights),
          deadline: m.deadline,
          mechanism: { noiseMultiplier: m.mechanism.noiseMultiplier, lossBound: m.mechanism.lossBound },
        },
        m.mechanism.delta,
      );
      if (!reply) throw new PolicyError("E_NOT_PRIVATE", "this node holds no held-out examples");
      this.runDelta = m.mechanism.delta;
      await this.persistAccountant(); // the evaluation's charge is durable before its result leaves
      const epsilon = this.epsilon();
      await session.send({
        type: "evaluate_result",
        roundId: m.roundId,
        count: reply.count,
        correct: reply.correct,
        scaledLoss: reply.lossSum / m.mechanism.lossBound,
        epsilonSpent: epsilon ?? 0,
      });
      this.emit({ type: "evaluated", round: m.roundId, epsilon });
    } catch (err) {
      await this.refuse(session, m.roundId, err, "E_EVALUATION");
    }
  }

  /**
   * Tell the coordinator a task was not done. A policy or task-settings refusal says why (its text
   * comes from the task and the operator's policy only); any other failure sends just a code, since
   * its message may describe the data. The details go to the local log.
   */
  private async refuse(session: ClientSession, roundId: number, err: unknown, fallback: string) {
    const known = err instanceof PolicyError;
    const code = known ? (err as PolicyError).code : fallback;
    const message = known ? (err as Error).message : "the task failed on this node (details in its log)";
    this.log.warn(`round ${roundId}: ${code}: ${(err as Error).message}`);
    this.emit({ type: "refused", round: roundId, code, message: (err as Error).message });
    if (!session.closed)
      await session.send({ type: "error", code, message, roundId, fatal: false }).catch(() => {});
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/**
 * The node's saved accountant: the ε it has already spent. Unreadable is fatal, never "start again at
 * 0" — that would let a node spend its budget twice.
 */
async function loadAccountant(store: AccountantStore): Promise<PrivacyAccountant> {
  try {
    const json = await store.load();
    return json === null ? createAccountant("rdp") : accountantFromJSON(json);
  } catch (err) {
    throw new StateError(
      `the node's accountant ${store.where} cannot be read (${(err as Error).message}); it records the ε this node has spent: restore it from a backup (deleting it would restart the budget at 0)`,
    );
  }
}
