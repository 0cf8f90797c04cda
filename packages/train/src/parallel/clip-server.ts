/**
 * What a DP-step worker does, on any platform (clip-worker.ts under Node, apps/web-node's
 * clip-worker in a browser): rebuild the owner's scheme from the same backbone, then for each
 * micro-batch it is sent compute the per-example-clipped gradient sum (or the plain sum) with the
 * same book-keeping code as the owner (SchemeModel), and return it; side: also the frozen backbone's
 * features of token rows (`prepare` without an inference engine), as the owner would compute them;
 * the classifier's logits of an evaluation micro-batch (lora, reversible, full: a whole forward);
 * and shares of a step's integer noise, from its own CSPRNG, when the owner asks (the draws only:
 * it never samples, never adds noise to anything, never releases and never charges an accountant —
 * those stay with the owner, once per step).
 */

import { type Scheme, SideScheme } from "@memarc/models";
import { drawLatticeNoiseShare } from "@memarc/privacy";
import type * as tf from "@tensorflow/tfjs";
import type { Backbone } from "../finetune/backbone.js";
import { createScheme } from "../finetune/schemes.js";
import { computeFeatureCache, type FeatureCache, SchemeModel } from "../scheme-model.js";
import { batchTensors, disposeBatch, type TokenizedDataset } from "../tokenized.js";
import type { BackboneSource, FromWorker, MicroBatch, ToWorker, WorkerSetup } from "./messages.js";

export interface ClipServerOptions {
  setup: WorkerSetup;
  /** Builds the backbone `setup` names (a directory needs Node; files work anywhere). */
  load: (source: BackboneSource) => Promise<Backbone>;
  post: (m: FromWorker, transfer?: ArrayBuffer[]) => void;
  /** Registers the handler of the owner's tasks. */
  listen: (handler: (m: ToWorker) => void) => void;
}

/** Per-example views into the batch's per-layer buffers: the cache layout SchemeModel reads. */
function featureViews(b: MicroBatch): FeatureCache | undefined {
  if (!b.features) return undefined;
  const n = b.length * b.width;
  return Array.from({ length: b.count }, (_, i) =>
    b.features!.map((layer) => layer.subarray(i * n, (i + 1) * n)),
  );
}

/** The scheme's logits of every row, row-major [count, classes] (a copy the worker can move). */
function classifyRows(scheme: Scheme, data: TokenizedDataset): Float32Array {
  const all = Array.from({ length: data.count }, (_, i) => i);
  const b = batchTensors(data, all);
  const z = scheme.classify(b);
  const logits = Float32Array.from(z.dataSync() as Float32Array);
  z.dispose();
  disposeBatch(b);
  return logits;
}

/** Builds the scheme, answers every task, and says "ready" once it can (errors: id null). */
export async function serveClipWorker(o: ClipServerOptions): Promise<void> {
  const { setup, post } = o;
  const backbone = await o.load(setup.backbone);
  const finetune = createScheme(setup.kind, backbone, setup.scheme);
  const scheme = finetune.scheme!;
  let version = -1;
  o.listen((m: ToWorker) => {
    try {
      if (m.type === "noise") {
        const s = m.share;
        const values = drawLatticeNoiseShare(s.dimension, s.count, {
          std: s.std,
          sensitivity: s.sensitivity,
        });
        post({ type: "noise", id: m.id, values }, [values.buffer as ArrayBuffer]);
        return;
      }
      if (m.type === "features") {
        if (!(scheme instanceof SideScheme))
          throw new Error("frozen-backbone features are for the side scheme");
        const r = m.rows;
        const rows = {
          ids: r.ids,
          lengths: r.lengths,
          labels: new Int32Array(r.count),
          count: r.count,
          length: r.length,
        };
        const cache = computeFeatureCache(scheme, rows, r.count);
        const per = r.length * scheme.config.nEmbd;
        const layers = (cache[0] ?? []).map((_, l) => {
          const out = new Uint16Array(r.count * per);
          for (let i = 0; i < r.count; i++) out.set(cache[i]![l]!, i * per);
          return out;
        });
        post(
          { type: "features", id: m.id, layers },
          layers.map((a) => a.buffer as ArrayBuffer),
        );
        return;
      }
      if (m.weights && m.weights.version !== version) {
        scheme.importTrainable(m.weights.values);
        version = m.weights.version;
      }
      const b = m.batch;
      const data = { ids: b.ids, lengths: b.lengths, labels: b.labels, count: b.count, length: b.length };
      if (m.type === "classify") {
        const logits = classifyRows(scheme, data);
        post({ type: "logits", id: m.id, logits }, [logits.buffer as ArrayBuffer]);
        return;
      }
      const features = featureViews(b);
      const model = new SchemeModel(scheme, data, {
        objective: setup.objective,
        cacheSideFeatures: false,
        ...(features ? { featureCache: features } : {}),
      });
      const all = Int32Array.from({ length: b.count }, (_, i) => i);
      const r = m.mode === "clipped" ? model.clippedGradients(all, m.clipNorm) : model.gradients(all);
      const grads = "clippedSum" in r ? r.clippedSum : r.sum;
      const sums: Record<string, Float32Array> = {};
      for (const [name, t] of grads) {
        // A copy the worker owns outright, so it can be moved (a backend may share its own array).
        sums[name] = Float32Array.from((t as tf.Tensor).dataSync() as Float32Array);
        (t as tf.Tensor).dispose();
      }
      const norms = "norms" in r ? r.norms : null;
      const transfer = [...Object.values(sums), ...(norms ? [norms] : [])].map(
        (a) => a.buffer as ArrayBuffer,
      );
      post({ type: "result", id: m.id, sums, norms, lossSum: r.lossSum }, transfer);
    } catch (err) {
      post({ type: "error", id: m.id, message: err instanceof Error ? err.message : String(err) });
    }
  });
  post({ type: "ready" });
}
