/**
 * What GPT-2 and BERT share as implementations of BackboneModel: weight validation and lookup, the
 * frozen tracer and the block-by-block inference forward. The architecture-specific steps (embed,
 * block, final, attention bias, layout) stay abstract.
 */
import * as tf from "@tensorflow/tfjs";
import type {
  Architecture,
  BackboneConfig,
  BackboneModel,
  BlockLayout,
  BlockRef,
  ForwardOutput,
  ParamMap,
} from "./backbone.js";
import { ModelError } from "./errors.js";
import { Tracer } from "./tracer.js";

export abstract class BackboneBase<C extends BackboneConfig> implements BackboneModel {
  abstract readonly architecture: Architecture;
  abstract readonly causal: boolean;
  abstract readonly tokenTable: string;
  abstract readonly blockLayout: BlockLayout;
  abstract readonly finalParams: readonly string[];

  /** `shapes`: every parameter the config implies, checked against `params`. */
  constructor(
    readonly config: C,
    readonly params: ParamMap,
    shapes: [string, number[]][],
  ) {
    for (const [name, shape] of shapes) {
      const t = params.get(name);
      if (!t) throw new ModelError("E_WEIGHTS", `missing parameter ${name}`);
      if (t.shape.join(",") !== shape.join(","))
        throw new ModelError("E_WEIGHTS", `parameter ${name} has shape [${t.shape}], expected [${shape}]`);
    }
  }

  abstract blockPrefix(i: number): string;
  abstract attentionBias(mask: tf.Tensor2D): tf.Tensor4D;
  abstract embed(tr: Tracer, ids: tf.Tensor2D): tf.Tensor3D;
  abstract block(tr: Tracer, x: tf.Tensor3D, ref: BlockRef, bias: tf.Tensor4D, dropKey: number): tf.Tensor3D;
  abstract blockResidual(
    tr: Tracer,
    x: tf.Tensor3D,
    ref: BlockRef,
    bias: tf.Tensor4D,
    dropKey: number,
  ): tf.Tensor3D;
  abstract final(tr: Tracer, h: tf.Tensor3D, prefix?: string): tf.Tensor3D;

  blockRef(i: number): BlockRef {
    return { prefix: this.blockPrefix(i), nHead: this.config.nHead };
  }

  get(name: string): tf.Tensor {
    const t = this.params.get(name);
    if (!t) throw new ModelError("E_WEIGHTS", `no parameter ${name}`);
    return t;
  }

  /** A plain (inference) tracer over the backbone weights, all frozen. */
  tracer(): Tracer {
    return new Tracer({ mode: "plain", lookup: (n) => this.get(n), isTrainable: () => false });
  }

  /** Each block runs in its own tidy, so only the hidden states asked for survive. */
  forward(ids: tf.Tensor2D, mask: tf.Tensor2D, opts: { hidden?: boolean } = {}): ForwardOutput {
    const c = this.config;
    if (ids.shape[1] > c.nPositions)
      throw new ModelError("E_INPUT", `sequence length ${ids.shape[1]} exceeds nPositions ${c.nPositions}`);
    const tr = this.tracer();
    const bias = this.attentionBias(mask);
    const hidden: tf.Tensor3D[] = [];
    let h = tf.tidy(() => this.embed(tr, ids));
    for (let i = 0; i < c.nLayer; i++) {
      const prev = h;
      h = tf.tidy(() => this.block(tr, prev, this.blockRef(i), bias, i));
      if (opts.hidden) hidden.push(prev);
      else prev.dispose();
    }
    bias.dispose();
    const out = tf.tidy(() => this.final(tr, h));
    if (!opts.hidden) {
      if (out !== h) h.dispose();
      return { final: out };
    }
    hidden.push(h);
    // An identity `final` (BERT) returns h itself: the caller may dispose both, so copy it.
    return { hidden, final: out === h ? tf.clone(h) : out };
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
  }
}
