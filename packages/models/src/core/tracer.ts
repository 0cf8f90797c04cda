/**
 * The tracer runs the network's parameterised operations in one of two modes:
 *
 * - "plain": ordinary differentiable ops (inference, and the autodiff reference in tests).
 * - "probe": trainable parameters are constants; each trainable operation records a Site and is
 *   wrapped in a custom gradient that captures ∂L/∂(output) when the backward passes through it.
 *   A scalar `seed` is an extra input of every capturing op, so the whole network lies on the path
 *   from `seed` to the loss and one `tf.valueAndGrads(..)([seed])` at the top level yields every
 *   output gradient — no per-example backward, no nested autodiff, no weight gradients computed by
 *   tfjs (the DP code forms them itself from the stored activations).
 */
import { customGrad, dense, embeddingLookup, matMul2d, normalizeLastAxis } from "@memarc/tensor";
import * as tf from "@tensorflow/tfjs";
import type { Site } from "./sites.js";

export type Lookup = (name: string) => tf.Tensor;

export interface TracerOptions {
  mode: "plain" | "probe";
  lookup: Lookup;
  isTrainable: (name: string) => boolean;
  /** Dropout probability for `dropout()` calls (0 = off). */
  dropout?: number;
  /** Step seed for replayable dropout masks. */
  dropoutSeed?: number;
  /** Scale α/r applied to LoRA updates (only used when `${w}.lora_A` parameters exist). */
  loraScale?: number;
  hasParam?: (name: string) => boolean;
}

const keepClone = <T extends tf.Tensor>(x: T): T => tf.keep(tf.clone(x));

export class Tracer {
  readonly sites: Site[] = [];
  readonly seed: tf.Scalar | undefined;
  /** Inputs known to be constants of the step (no gradient flows to them). */
  private readonly constant = new Set<tf.Tensor>();

  constructor(
    readonly opts: TracerOptions,
    seed?: tf.Scalar,
  ) {
    this.seed = seed;
    if (opts.mode === "probe" && !seed) throw new Error("probe mode needs a seed scalar");
  }

  get probing(): boolean {
    return this.opts.mode === "probe";
  }

  p(name: string): tf.Tensor {
    return this.opts.lookup(name);
  }

  private trainable(name: string | undefined): boolean {
    return name !== undefined && this.opts.isTrainable(name);
  }

  /**
   * Custom op: value = f(x); backward: dx = back(dy); if `site` is given, dy is captured into
   * `site.g`. Saves nothing on the tape (weights are closed over as constants).
   */
  private op<T extends tf.Tensor>(
    x: tf.Tensor,
    f: (x: tf.Tensor) => T,
    back: (dy: tf.Tensor) => tf.Tensor,
    site?: Site,
  ): T {
    if (!site) {
      const g = customGrad((xx: tf.Tensor) => ({ value: f(xx), gradFunc: (dy: tf.Tensor) => back(dy) }));
      return g(x) as T;
    }
    const seed = this.seed!;
    this.sites.push(site);
    if (this.constant.has(x)) {
      // A constant input (e.g. cached frozen-backbone features) needs no gradient: keep it off the
      // op's inputs, so the backward never forms dx (for a side downsample, a [B,T,d] product).
      const c = customGrad((_s: tf.Tensor) => ({
        value: f(x),
        gradFunc: (dy: tf.Tensor) => {
          site.g = keepClone(dy) as tf.Tensor3D;
          return tf.zerosLike(seed);
        },
      }));
      return c(seed) as T;
    }
    const g = customGrad((xx: tf.Tensor, _s: tf.Tensor) => ({
      value: f(xx),
      gradFunc: (dy: tf.Tensor) => {
        site.g = keepClone(dy) as tf.Tensor3D;
        return [back(dy), tf.zerosLike(seed)];
      },
    }));
    return g(x, seed) as T;
  }

  /** Declare `x` a constant of this step: ops on it never compute a gradient for it. */
  markConstant(x: tf.Tensor): void {
    this.constant.add(x);
  }

  /** x[B,T,Din] · W (+ b), with a LoRA branch if `${w}.lora_A`/`lora_B` exist. */
  linear(x: tf.Tensor3D, w: string, b?: string): tf.Tensor3D {
    const W = this.p(w) as tf.Tensor2D;
    const B = b === undefined ? undefined : (this.p(b) as tf.Tensor1D);
    let out: tf.Tensor3D;
    if (!this.probing) {
      out = dense(x, W, B, { constW: !this.trainable(w) });
    } else {
      const tw = this.trainable(w);
      const tb = this.trainable(b);
      const site: Site | undefined =
        tw || tb
          ? { kind: "linear", weight: w, bias: tb ? b : undefined, a: keepClone(x) as tf.Tensor3D }
          : undefined;
      // The transpose is formed in the backward: tensors made in the forward die with its scope.
      out = this.op(
        x,
        (xx) => dense(xx as tf.Tensor3D, W, B, { constW: true }),
        (dy) => dense(dy as tf.Tensor3D, tf.transpose(W) as tf.Tensor2D, undefined, { constW: true }),
        site,
      );
      if (site && !tw) throw new Error(`bias ${b} trainable while weight ${w} is frozen: unsupported`);
    }
    const la = `${w}.lora_A`;
    if (this.opts.hasParam?.(la)) {
      const h = this.linear(x, la);
      const scaled = tf.mul(h, this.opts.loraScale ?? 1) as tf.Tensor3D;
      out = tf.add(out, this.linear(scaled, `${w}.lora_B`));
    }
    return out;
  }

  /** LayerNorm over the last axis with gain/bias `${prefix}.weight` / `${prefix}.bias`. */
  layerNorm(x: tf.Tensor3D, prefix: string, eps: number): tf.Tensor3D {
    const xhat = normalizeLastAxis(x, eps);
    const gName = `${prefix}.weight`;
    const bName = `${prefix}.bias`;
    const gamma = this.p(gName);
    const beta = this.p(bName);
    const f = (z: tf.Tensor) => tf.add(tf.mul(z, gamma), beta) as tf.Tensor3D;
    if (!this.probing) return f(xhat);
    const trainable = this.trainable(gName) || this.trainable(bName);
    if (!trainable) return this.op(xhat, f, (dy) => tf.mul(dy, gamma));
    const site: Site = { kind: "affine", gamma: gName, beta: bName, a: keepClone(xhat) };
    return this.op(xhat, f, (dy) => tf.mul(dy, gamma), site);
  }

  /**
   * Token embedding + learned positions 0..T-1 (right padding assumed), plus row 0 of the token-type
   * table `typeTable` when given (BERT: every input is one segment, so its type is 0 everywhere and
   * the row is one more offset added at every position).
   */
  embedInput(ids: tf.Tensor2D, wte: string, wpe: string, typeTable?: string): tf.Tensor3D {
    const [, t] = ids.shape;
    const table = this.p(wte) as tf.Tensor2D;
    let offset = tf.slice(this.p(wpe), [0, 0], [t, -1]);
    if (typeTable !== undefined) offset = tf.add(offset, tf.slice(this.p(typeTable), [0, 0], [1, -1]));
    if (!this.probing) {
      const tok = this.trainable(wte) ? embeddingLookup(table, ids) : tf.gather(table, ids);
      return tf.add(tok, offset) as tf.Tensor3D;
    }
    const tok = tf.gather(table, ids);
    const h = tf.add(tok, offset) as tf.Tensor3D;
    const tt = this.trainable(wte);
    const tp = this.trainable(wpe);
    const ty = this.trainable(typeTable);
    if (!tt && !tp && !ty) return h;
    const site: Site = {
      kind: "embed",
      table: tt ? wte : undefined,
      pos: tp ? wpe : undefined,
      type: ty ? typeTable : undefined,
      ids: tf.keep(tf.clone(ids)),
    };
    return this.op(
      h,
      (z) => tf.clone(z) as tf.Tensor3D,
      (dy) => dy,
      site,
    );
  }

  /** Tied LM head: logits = x · tableᵀ. */
  tiedHead(x: tf.Tensor3D, table: string): tf.Tensor3D {
    const E = this.p(table) as tf.Tensor2D;
    const [b, t, d] = x.shape;
    const v = E.shape[0];
    if (!this.probing) {
      const x2 = tf.reshape(x, [b * t, d]) as tf.Tensor2D;
      return tf.reshape(matMul2d(x2, tf.transpose(E)), [b, t, v]);
    }
    const ET = tf.transpose(E) as tf.Tensor2D;
    const site: Site | undefined = this.trainable(table)
      ? { kind: "tied", table, a: keepClone(x) }
      : undefined;
    return this.op(
      x,
      (xx) => dense(xx as tf.Tensor3D, ET, undefined, { constW: true }),
      (dy) => dense(dy as tf.Tensor3D, E, undefined, { constW: true }),
      site,
    );
  }

  /** u = d + σ(α/τ)·(s − d): the ladder gate (side tuning). */
  gate(s: tf.Tensor3D, d: tf.Tensor3D, alpha: string, temperature: number): tf.Tensor3D {
    const a = this.p(alpha);
    if (!this.probing)
      return tf.add(d, tf.mul(tf.sigmoid(tf.div(a, temperature)), tf.sub(s, d))) as tf.Tensor3D;
    const sv = 1 / (1 + Math.exp(-a.dataSync()[0]! / temperature));
    const diff = tf.sub(s, d) as tf.Tensor3D;
    const u = tf.add(d, tf.mul(sv, diff)) as tf.Tensor3D;
    if (!this.trainable(alpha)) return u;
    const site: Site = { kind: "gate", alpha, factor: (sv * (1 - sv)) / temperature, a: keepClone(diff) };
    return this.op(
      u,
      (z) => tf.clone(z) as tf.Tensor3D,
      (dy) => dy,
      site,
    );
  }

  /** Inverted dropout with a mask replayable from (step seed, key); identity when off. */
  dropout<T extends tf.Tensor>(x: T, key: number): T {
    const p = this.opts.dropout ?? 0;
    if (p <= 0) return x;
    const mask = replayableDropoutMask(x.shape, p, this.opts.dropoutSeed ?? 0, key);
    return tf.mul(x, mask) as T;
  }
}

/**
 * Dropout mask ∈ {0, 1/(1-p)} from tfjs's seeded uniform generator. Dropout is a regulariser, not a
 * privacy mechanism, so a seeded (replayable) generator is appropriate: the reversible backward
 * regenerates exactly the forward's masks.
 */
export function replayableDropoutMask(shape: number[], p: number, stepSeed: number, key: number): tf.Tensor {
  return tf.tidy(() => {
    const seed = (Math.imul(stepSeed + 1, 0x9e3779b1) ^ Math.imul(key + 7, 0x85ebca6b)) >>> 0;
    const u = tf.randomUniform(shape, 0, 1, "float32", seed);
    return tf.mul(tf.cast(tf.greaterEqual(u, p), "float32"), 1 / (1 - p));
  });
}
