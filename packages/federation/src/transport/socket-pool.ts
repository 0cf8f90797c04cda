/**
 * The coordinator's NodePool over authenticated socket.io sessions (@memarc/protocol's
 * ServerChannel). Each request sends one sealed task and waits for the matching reply from that
 * session; a disconnect, a node error or the deadline fails only that node's request.
 */
import {
  type CloseReason,
  describeCloseReason,
  encodeMessage,
  type NodeMessage,
  type ServerSession,
} from "@memarc/protocol";
import type { ServerChannel } from "@memarc/protocol/node";
import {
  type EvaluateReply,
  type EvaluateRequest,
  type FitReply,
  type FitRequest,
  type NodePool,
  NotEnoughNodesError,
  type PoolNode,
} from "../coordinator/node-pool.js";
import { fromNamedTensors, type ShapeMap, toNamedTensors, toRoundTask } from "./task-config.js";

export class NodeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "NodeError";
  }
}

export interface SocketPoolEvents {
  connected?: (nodeId: string) => void;
  disconnected?: (nodeId: string, reason: string) => void;
  bytesIn?: (n: number) => void;
  bytesOut?: (n: number) => void;
}

export class SocketNodePool implements NodePool {
  private readonly live = new Map<string, ServerSession>();
  private readonly waiters = new Set<() => void>();

  constructor(
    server: ServerChannel,
    private readonly shapes: ShapeMap,
    private readonly delta: number,
    private readonly events: SocketPoolEvents = {},
  ) {
    server.on("session", (s: ServerSession) => this.admit(s));
    for (const s of server.sessions) this.admit(s);
  }

  private admit(s: ServerSession): void {
    const id = s.nodeIdString;
    this.live.set(id, s);
    s.on("message", (_m: NodeMessage, info: { bytes: number }) => this.events.bytesIn?.(info.bytes));
    s.on("close", (reason: CloseReason) => {
      if (this.live.get(id) === s) this.live.delete(id);
      this.events.disconnected?.(id, describeCloseReason(reason));
    });
    this.events.connected?.(id);
    for (const w of [...this.waiters]) w();
  }

  nodes(): PoolNode[] {
    return [...this.live.entries()]
      .filter(([, s]) => !s.closed)
      .map(([id]) => ({ id }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  waitForNodes(min: number, deadline: number): Promise<PoolNode[]> {
    const start = Date.now();
    return new Promise((resolve, reject) => {
      const check = () => {
        const n = this.nodes();
        if (n.length >= min) {
          done();
          resolve(n);
        }
      };
      const timer = setTimeout(
        () => {
          done();
          reject(new NotEnoughNodesError(this.nodes().length, min, Date.now() - start));
        },
        Math.max(0, deadline - Date.now()),
      );
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  private session(nodeId: string): ServerSession {
    const s = this.live.get(nodeId);
    if (!s || s.closed) throw new NodeError("E_CLOSED", `node ${nodeId} is not connected`);
    return s;
  }

  /** Wait for the reply to `roundId` of `type`; a node error for that round, a close or an abort rejects. */
  private reply<T extends NodeMessage["type"]>(
    s: ServerSession,
    type: T,
    roundId: number,
    signal: AbortSignal,
  ): Promise<Extract<NodeMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: NodeMessage) => {
        if (m.type === type && (m as { roundId: number }).roundId === roundId) {
          cleanup();
          resolve(m as Extract<NodeMessage, { type: T }>);
        } else if (m.type === "error" && (m.roundId === roundId || m.fatal)) {
          cleanup();
          reject(new NodeError(m.code, `node ${s.nodeIdString}: ${m.message}`));
        }
      };
      const onClose = (reason: CloseReason) => {
        cleanup();
        reject(
          new NodeError("E_CLOSED", `node ${s.nodeIdString} disconnected (${describeCloseReason(reason)})`),
        );
      };
      const onAbort = () => {
        cleanup();
        reject(new NodeError("E_TIMEOUT", `node ${s.nodeIdString}: request aborted`));
      };
      const cleanup = () => {
        s.off("message", onMessage);
        s.off("close", onClose);
        signal.removeEventListener("abort", onAbort);
      };
      s.on("message", onMessage);
      s.on("close", onClose);
      signal.addEventListener("abort", onAbort);
    });
  }

  async fit(nodeId: string, request: FitRequest, signal: AbortSignal): Promise<FitReply> {
    const s = this.session(nodeId);
    const task = toRoundTask(request, this.shapes);
    this.events.bytesOut?.(messageBytes(task));
    // Await both together: the node may answer (or fail) before the send has been fully acknowledged.
    const [, m] = await Promise.all([s.send(task), this.reply(s, "update", request.round, signal)]);
    return {
      delta: fromNamedTensors(m.delta),
      unclipped: m.unclipped,
      localEpsilon: m.epsilonSpent > 0 ? m.epsilonSpent : null,
    };
  }

  async evaluate(nodeId: string, request: EvaluateRequest, signal: AbortSignal): Promise<EvaluateReply> {
    const s = this.session(nodeId);
    const [, m] = await Promise.all([
      s.send({
        type: "evaluate_task",
        roundId: request.round,
        weights: toNamedTensors(request.weights, this.shapes),
        mechanism: { ...request.mechanism, delta: this.delta },
        deadline: request.deadline,
      }),
      this.reply(s, "evaluate_result", request.round, signal),
    ]);
    return { count: m.count, correct: m.correct, lossSum: m.scaledLoss * request.mechanism.lossBound };
  }

  async finish(reason: string): Promise<void> {
    await Promise.allSettled([...this.live.values()].filter((s) => !s.closed).map((s) => s.bye(reason)));
  }
}

/** Encoded size of a message (what the session seals and sends, before encryption overhead). */
function messageBytes(m: Parameters<typeof encodeMessage>[0]): number {
  return encodeMessage(m).length;
}
