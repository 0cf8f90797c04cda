/**
 * The federated-learning rules on round results, kept per session. A coordinator accepts an update
 * for a round only after sending that round's task, only with the task's tensors, and only once; an
 * evaluation result only for a round it asked to evaluate, once. A node checks its own update
 * against the task it received, so a shape bug fails locally instead of at the coordinator.
 * Memory stays bounded however many rounds a peer makes us remember.
 */
import { UnexpectedMessageError } from "./errors.js";
import { tensorSpecOf } from "./message-schemas.js";
import type { Role, SessionMessage, TensorSpec } from "./messages.js";

const MAX_REMEMBERED_ROUNDS = 16;

export class RoundExpectations {
  /** Coordinator: tensor specs of updates we will accept, by round (set by sending a round task). */
  private readonly updates = new Map<number, readonly TensorSpec[]>();
  /** Coordinator: rounds whose evaluation we asked for. */
  private readonly evaluations = new Set<number>();
  /** Node: specs of the round tasks we received, to check our own updates before sending. */
  private readonly tasks = new Map<number, readonly TensorSpec[]>();

  constructor(private readonly role: Role) {}

  expectUpdate(roundId: number, spec: readonly TensorSpec[]): void {
    this.updates.set(roundId, spec);
    trim(this.updates);
  }

  expectEvaluation(roundId: number): void {
    this.evaluations.add(roundId);
  }

  forget(roundId: number): void {
    this.updates.delete(roundId);
    this.evaluations.delete(roundId);
  }

  /** Coordinator: what an incoming update must match (undefined: no update is expected). */
  readonly incomingUpdate = (roundId: number): readonly TensorSpec[] | undefined => this.updates.get(roundId);

  /** Node: what our own update for `msg`'s round must match, if we received its task. */
  outgoingUpdate(msg: SessionMessage): ((roundId: number) => readonly TensorSpec[] | undefined) | undefined {
    if (this.role !== "node" || msg.type !== "update" || !this.tasks.has(msg.roundId)) return undefined;
    return (r) => this.tasks.get(r);
  }

  /** A message passed our own checks and is about to go out: a coordinator's task opens its result. */
  sending(msg: SessionMessage): void {
    if (this.role !== "coordinator") return;
    if (msg.type === "round_task") this.expectUpdate(msg.roundId, tensorSpecOf(msg.weights));
    else if (msg.type === "evaluate_task") this.expectEvaluation(msg.roundId);
  }

  /**
   * An incoming message is valid and authentic: close the result it answers, or remember the task it
   * brings. Throws E_UNEXPECTED for an evaluation result nobody asked for.
   */
  received(msg: SessionMessage): void {
    if (msg.type === "update") this.updates.delete(msg.roundId);
    else if (msg.type === "evaluate_result" && this.role === "coordinator") {
      if (!this.evaluations.has(msg.roundId))
        throw new UnexpectedMessageError(`no evaluation result is expected for round ${msg.roundId}`);
      this.evaluations.delete(msg.roundId);
    } else if (msg.type === "round_task") {
      this.tasks.set(msg.roundId, tensorSpecOf(msg.weights));
      trim(this.tasks);
    }
  }
}

function trim<K, V>(m: Map<K, V>): void {
  while (m.size > MAX_REMEMBERED_ROUNDS) {
    const k = m.keys().next().value as K;
    m.delete(k);
  }
}
