/**
 * Server optimisers apply the aggregate update (a pseudo-gradient pointing "downhill") to the global
 * weights. FedAvg is plain SGD with step size η (η = 1 reproduces classic FedAvg); FedAdam is the
 * adaptive variant of Reddi et al. 2021, "Adaptive Federated Optimization".
 */
import { cloneWeights, type Weights, zerosLike } from "./weights.js";

export interface ServerOptimizer {
  readonly name: string;
  /** Returns new global weights; does not modify `global` or `delta`. */
  apply(global: Weights, delta: Weights): Weights;
  saveState(): Record<string, unknown>;
  loadState(state: Record<string, unknown>): void;
}

export class ServerSgd implements ServerOptimizer {
  readonly name = "fedavg";
  constructor(private readonly learningRate = 1) {
    if (!(learningRate > 0)) throw new RangeError(`server learning rate must be > 0, got ${learningRate}`);
  }

  apply(global: Weights, delta: Weights): Weights {
    const out = cloneWeights(global);
    for (const [k, x] of Object.entries(out)) {
      const d = delta[k]!;
      for (let i = 0; i < x.length; i++) x[i] = x[i]! + this.learningRate * d[i]!;
    }
    return out;
  }

  saveState(): Record<string, unknown> {
    return {};
  }

  loadState(): void {}
}

export interface FedAdamOptions {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  /** τ: adaptivity floor, the paper's ε-like constant (default 1e-3). */
  tau?: number;
}

export class FedAdam implements ServerOptimizer {
  readonly name = "fedadam";
  private m: Weights | null = null;
  private v: Weights | null = null;
  private readonly lr: number;
  private readonly b1: number;
  private readonly b2: number;
  private readonly tau: number;

  constructor(o: FedAdamOptions = {}) {
    this.lr = o.learningRate ?? 1e-2;
    this.b1 = o.beta1 ?? 0.9;
    this.b2 = o.beta2 ?? 0.99;
    this.tau = o.tau ?? 1e-3;
    if (!(this.lr > 0)) throw new RangeError(`FedAdam learningRate must be > 0, got ${this.lr}`);
    if (!(this.b1 >= 0 && this.b1 < 1) || !(this.b2 >= 0 && this.b2 < 1))
      throw new RangeError("FedAdam betas must be in [0, 1)");
    if (!(this.tau > 0)) throw new RangeError(`FedAdam tau must be > 0, got ${this.tau}`);
  }

  apply(global: Weights, delta: Weights): Weights {
    this.m ??= zerosLike(global);
    this.v ??= zerosLike(global);
    const out = cloneWeights(global);
    for (const [k, x] of Object.entries(out)) {
      const d = delta[k]!;
      const m = this.m[k]!;
      const v = this.v[k]!;
      for (let i = 0; i < x.length; i++) {
        m[i] = this.b1 * m[i]! + (1 - this.b1) * d[i]!;
        v[i] = this.b2 * v[i]! + (1 - this.b2) * d[i]! * d[i]!;
        x[i] = x[i]! + (this.lr * m[i]!) / (Math.sqrt(v[i]!) + this.tau);
      }
    }
    return out;
  }

  saveState(): Record<string, unknown> {
    const enc = (w: Weights | null) =>
      w
        ? Object.fromEntries(
            Object.entries(w).map(([k, a]) => [
              k,
              Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64"),
            ]),
          )
        : null;
    return { m: enc(this.m), v: enc(this.v) };
  }

  loadState(state: Record<string, unknown>): void {
    const dec = (o: unknown): Weights | null => {
      if (o === null || o === undefined) return null;
      const out: Weights = {};
      for (const [k, s] of Object.entries(o as Record<string, string>)) {
        const b = Buffer.from(s, "base64");
        out[k] = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      }
      return out;
    };
    this.m = dec(state.m);
    this.v = dec(state.v);
  }
}
