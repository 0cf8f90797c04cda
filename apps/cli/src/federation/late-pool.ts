/**
 * A NodePool whose real pool is attached later. The coordinator is built — and its saved state,
 * ledger and weights validated — before the node port opens; the socket pool exists only once the
 * port does. Using it before `attach` is a programming error.
 */
import type { EvaluateRequest, FitRequest, NodePool, PoolNode } from "@memarc/federation";

export class LatePool implements NodePool {
  private target: NodePool | null = null;

  attach(pool: NodePool): void {
    this.target = pool;
  }

  private get pool(): NodePool {
    if (!this.target) throw new Error("node pool used before the node port was opened");
    return this.target;
  }

  nodes(): PoolNode[] {
    return this.pool.nodes();
  }
  waitForNodes(min: number, deadline: number): Promise<PoolNode[]> {
    return this.pool.waitForNodes(min, deadline);
  }
  fit(nodeId: string, request: FitRequest, signal: AbortSignal) {
    return this.pool.fit(nodeId, request, signal);
  }
  evaluate(nodeId: string, request: EvaluateRequest, signal: AbortSignal) {
    return this.pool.evaluate(nodeId, request, signal);
  }
  finish(reason: string): Promise<void> {
    return this.target ? this.target.finish(reason) : Promise.resolve();
  }
}
