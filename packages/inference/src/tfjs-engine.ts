/**
 * The frozen backbone on tfjs (whatever backend @memarc/tensor selected): the fallback when ONNX
 * Runtime cannot load, and the reference the ONNX export is tested against.
 */
import type { BackboneModel } from "@memarc/models";
import * as tf from "@tensorflow/tfjs";
import type { FrozenEngine, FrozenOutputs } from "./engine.js";

export class TfjsFrozenEngine implements FrozenEngine {
  readonly name = "tfjs" as const;
  /** wasm runs one thread under Node; the native backend manages its own pool. */
  readonly threads = 1;

  constructor(private readonly model: BackboneModel) {}

  async run(ids: Int32Array, mask: Float32Array, batch: number, seq: number): Promise<FrozenOutputs> {
    const idsT = tf.tensor2d(ids, [batch, seq], "int32");
    const maskT = tf.tensor2d(mask, [batch, seq], "float32");
    const out = this.model.forward(idsT, maskT, { hidden: true });
    const read = async (t: tf.Tensor) => (await t.data()) as Float32Array;
    const hidden = await Promise.all(out.hidden!.map(read));
    const final = await read(out.final);
    const pooled = tf.tidy(() => {
      const m = tf.expandDims(maskT, 2);
      return tf.div(tf.sum(tf.mul(out.final, m), 1), tf.maximum(tf.sum(m, 1), 1e-9));
    });
    const pooledData = await read(pooled);
    tf.dispose([idsT, maskT, ...out.hidden!, out.final, pooled]);
    return { hidden, final, pooled: pooledData, batch, seq, dim: this.model.config.nEmbd };
  }

  async dispose(): Promise<void> {}
}
