/**
 * A NodePool decorator that tells the monitor what the coordinator's events do not: when a node's
 * update arrives (so "training" can turn into "aggregating") and when evaluation begins. It adds no
 * behaviour of its own — every call and every error passes through unchanged.
 */
import type {
  EvaluateReply,
  EvaluateRequest,
  FitReply,
  FitRequest,
  NodePool,
  PoolNode,
} from "@memarc/federation";
import type { RunMonitor } from "./monitor.js";

export function monitoredPool(pool: NodePool, monitor: RunMonitor): NodePool {
  return {
    nodes: (): PoolNode[] => pool.nodes(),
    waitForNodes: (min: number, deadline: number): Promise<PoolNode[]> => pool.waitForNodes(min, deadline),
    async fit(nodeId: string, request: FitRequest, signal: AbortSignal): Promise<FitReply> {
      const reply = await pool.fit(nodeId, request, signal);
      monitor.updateReceived(nodeId);
      return reply;
    },
    evaluate(nodeId: string, request: EvaluateRequest, signal: AbortSignal): Promise<EvaluateReply> {
      monitor.evaluationStarted(request.round);
      return pool.evaluate(nodeId, request, signal);
    },
    finish: (reason: string): Promise<void> => pool.finish(reason),
  };
}
