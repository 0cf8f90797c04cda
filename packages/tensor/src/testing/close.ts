/** Test support: elementwise comparison of two tensors, for this package's tests. */
import assert from "node:assert/strict";
import type * as tf from "@tensorflow/tfjs";

/** Every element within atol + rtol·|expected|, shapes equal; the message names the first bad element. */
export function assertTensorsClose(
  got: tf.Tensor,
  want: tf.Tensor,
  tol: { atol: number; rtol: number },
): void {
  assert.deepEqual(got.shape, want.shape);
  const x = got.dataSync();
  const y = want.dataSync();
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i]! - y[i]!);
    assert.ok(d <= tol.atol + tol.rtol * Math.abs(y[i]!), `element ${i}: ${x[i]} vs ${y[i]}`);
  }
}
