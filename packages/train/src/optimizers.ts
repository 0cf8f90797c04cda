/**
 * Optimisers over named tfjs variables. Written here rather than using tf.train.* so that state is
 * keyed by our own parameter names (stable across processes, serialisable for checkpoints) instead
 * of tfjs's global variable registry, and so AdamW's decoupled weight decay is exact.
 */
import * as tf from "@tensorflow/tfjs";

export type Params = Map<string, tf.Variable>;
export type Grads = Map<string, tf.Tensor>;

export interface Optimizer {
  readonly name: string;
  /** params ← params − lr·update(grads). Does not dispose `grads`. */
  step(params: Params, grads: Grads, lr: number): void;
  dispose(): void;
}

export interface SgdOptions {
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export class Sgd implements Optimizer {
  readonly name = "sgd";
  private readonly velocity = new Map<string, tf.Variable>();
  constructor(private readonly o: SgdOptions = {}) {
    const m = o.momentum ?? 0;
    if (!(m >= 0 && m < 1)) throw new RangeError(`momentum must be in [0, 1), got ${m}`);
  }

  step(params: Params, grads: Grads, lr: number): void {
    const mu = this.o.momentum ?? 0;
    const wd = this.o.weightDecay ?? 0;
    tf.tidy(() => {
      for (const [name, p] of params) {
        let g = grads.get(name);
        if (!g) continue;
        if (wd > 0) g = g.add(p.mul(wd));
        if (mu > 0) {
          let v = this.velocity.get(name);
          if (!v) {
            v = tf.variable(tf.zerosLike(p), false);
            this.velocity.set(name, v);
          }
          v.assign(v.mul(mu).add(g));
          g = this.o.nesterov ? g.add(v.mul(mu)) : v;
        }
        p.assign(p.sub(g.mul(lr)));
      }
    });
  }

  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }
}

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Decoupled weight decay (AdamW, Loshchilov & Hutter); 0 gives plain Adam. */
  weightDecay?: number;
}

export class Adam implements Optimizer {
  readonly name: string;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;

  constructor(private readonly o: AdamOptions = {}) {
    this.name = (o.weightDecay ?? 0) > 0 ? "adamw" : "adam";
  }

  step(params: Params, grads: Grads, lr: number): void {
    const b1 = this.o.beta1 ?? 0.9;
    const b2 = this.o.beta2 ?? 0.999;
    const eps = this.o.epsilon ?? 1e-8;
    const wd = this.o.weightDecay ?? 0;
    this.t += 1;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    tf.tidy(() => {
      for (const [name, p] of params) {
        const g = grads.get(name);
        if (!g) continue;
        const m = this.slot(this.m, name, p);
        const v = this.slot(this.v, name, p);
        m.assign(m.mul(b1).add(g.mul(1 - b1)));
        v.assign(v.mul(b2).add(g.square().mul(1 - b2)));
        const update = m.div(c1).div(v.div(c2).sqrt().add(eps));
        const decayed = wd > 0 ? p.mul(1 - lr * wd) : p;
        p.assign(decayed.sub(update.mul(lr)));
      }
    });
  }

  private slot(store: Map<string, tf.Variable>, name: string, like: tf.Tensor): tf.Variable {
    let s = store.get(name);
    if (!s) {
      s = tf.variable(tf.zerosLike(like), false);
      store.set(name, s);
    }
    return s;
  }

  dispose(): void {
    for (const s of [...this.m.values(), ...this.v.values()]) s.dispose();
    this.m.clear();
    this.v.clear();
  }
}

export type OptimizerName = "sgd" | "adam" | "adamw";
export const OPTIMIZERS: readonly OptimizerName[] = ["sgd", "adam", "adamw"];

export function createOptimizer(
  name: OptimizerName,
  o: { momentum?: number; weightDecay?: number } = {},
): Optimizer {
  switch (name) {
    case "sgd":
      return new Sgd({ momentum: o.momentum ?? 0.9 });
    case "adam":
      return new Adam();
    case "adamw":
      return new Adam({ weightDecay: o.weightDecay ?? 0.01 });
  }
}
