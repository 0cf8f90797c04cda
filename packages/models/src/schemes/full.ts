/** Full fine-tuning: every backbone weight trainable (the DP baseline), plus the classifier. */
import * as tf from "@tensorflow/tfjs";
import type { BackboneModel } from "../core/backbone.js";
import type { Tracer } from "../core/tracer.js";
import { backboneFinal } from "./backbone-path.js";
import { BaseScheme } from "./base.js";
import type { Batch, SchemeOptions } from "./types.js";

export class FullScheme extends BaseScheme {
  readonly kind = "full" as const;

  constructor(backbone: BackboneModel, opts: SchemeOptions) {
    super(backbone, opts);
    for (const [name, t] of backbone.params) this.addTrainable(name, tf.clone(t));
    this.addClassifier(backbone.config.nEmbd, opts.initSeed ?? 1);
  }

  protected hiddenForHead(tr: Tracer, batch: Batch): tf.Tensor3D {
    return backboneFinal(tr, this.backbone, batch);
  }
}
