/**
 * The frozen backbones as ONNX graphs, built from the same safetensors weights the tfjs models load.
 * Each returns exactly what the schemes and commands need:
 *   inputs  input_ids int64 [batch, seq], attention_mask float [batch, seq] (1 = token, right padding)
 *   outputs hidden.0 … hidden.L [batch, seq, d] — the states the side network taps (h0 = embeddings;
 *           GPT-2's before ln_f), final [batch, seq, d] (GPT-2: ln_f(h_L); BERT: h_L), and
 *           pooled [batch, d]: the mean of `final` over real tokens (sentence-transformers' pooling,
 *           before any normalisation).
 */
import { bertConfigFromHF, ModelError } from "@memarc/models";
import { type Dim, GraphBuilder } from "./builder.js";
import { type HfWeights, numberField, transpose2d } from "./hf-weights.js";

export const FROZEN_GRAPH_VERSION = "1";

/** Additive mask value for keys that may not be attended to (exp underflows to exactly 0). */
const MASKED = -1e9;

interface Common {
  g: GraphBuilder;
  w: HfWeights;
  ids: string;
  mask: string;
  /** [batch, 1, 1, seq]: 1 for real keys. */
  keyMask: string;
}

function start(name: string, w: HfWeights): Common {
  const g = new GraphBuilder(name);
  const ids = g.input("input_ids", "int64", ["batch", "seq"]);
  const mask = g.input("attention_mask", "float", ["batch", "seq"]);
  const keyMask = g.unsqueeze(mask, [1, 2]);
  return { g, w, ids, mask, keyMask };
}

/** [seq] as a 1-D int64 tensor: the second dimension of input_ids. */
function seqLen(c: Common): string {
  const shape = c.g.node("Shape", [c.ids]);
  return c.g.node("Slice", [shape, c.g.int64([1]), c.g.int64([2])]);
}

/** Rows offset … offset+seq−1 of a [positions, d] table (offset: RoBERTa's reserved rows, bert/config.ts). */
function firstRows(c: Common, table: string, offset = 0): string {
  const end = offset === 0 ? seqLen(c) : c.g.node("Add", [seqLen(c), c.g.int64([offset])]);
  return c.g.node("Slice", [table, c.g.int64([offset]), end, c.g.int64([0])]);
}

const weight = (c: Common, name: string, hint = "w") => {
  const t = c.w.get(name);
  return c.g.constant(t.data, t.shape, hint);
};
/** A torch-layout Linear weight [out, in], stored transposed for x·W. */
const linearWeight = (c: Common, name: string) => {
  const t = transpose2d(c.w.get(name));
  return c.g.constant(t.data, t.shape, "w");
};

/** Multi-head attention core: q, k, v [batch, seq, d] → context [batch, seq, d]. */
function attend(
  c: Common,
  q: string,
  k: string,
  v: string,
  heads: number,
  hidden: number,
  bias: string,
): string {
  const g = c.g;
  const hd = hidden / heads;
  const split = (x: string) => g.transpose(g.reshape(x, [0, 0, heads, hd]), [0, 2, 1, 3]);
  const kt = g.transpose(g.reshape(k, [0, 0, heads, hd]), [0, 2, 3, 1]);
  const scores = g.add(g.mul(g.matMul(split(q), kt), g.constant([1 / Math.sqrt(hd)], [], "scale")), bias);
  const ctx = g.matMul(g.softmax(scores), split(v));
  return g.reshape(g.transpose(ctx, [0, 2, 1, 3]), [0, 0, hidden]);
}

/** Σ_t final·mask / Σ_t mask: [batch, d]. */
function meanPool(c: Common, final: string): string {
  const g = c.g;
  const m = g.unsqueeze(c.mask, [2]);
  const sum = g.reduceSum(g.mul(final, m), [1], false);
  const count = g.node("Max", [g.reduceSum(c.mask, [1], true), g.constant([1e-9], [], "eps")]);
  return g.div(sum, count);
}

function finishOutputs(c: Common, hidden: string[], final: string, d: number, w: HfWeights): Uint8Array {
  const dims: Dim[] = ["batch", "seq", d];
  hidden.forEach((h, i) => {
    c.g.output(`hidden.${i}`, h, "float", dims);
  });
  c.g.output("final", final, "float", dims);
  c.g.output("pooled", meanPool(c, final), "float", ["batch", d]);
  return c.g.finish(
    { name: "memarc", version: FROZEN_GRAPH_VERSION },
    { weightsSha256: w.sha256, modelType: w.modelType, layers: String(hidden.length - 1) },
  );
}

/**
 * BERT (post-LN, bidirectional, exact-erf GELU, token type 0); RoBERTa too, whose real tokens read
 * the position table from row pad_token_id + 1 on (right padding: padding_idx + 1 + t).
 */
export function bertGraph(w: HfWeights): Uint8Array {
  // The tfjs model's own reading of config.json: the same defaults (BERT's or RoBERTa's), the same
  // position offset and the same refusal of what the network does not implement.
  const cfg = bertConfigFromHF(w.config);
  const { nEmbd: d, nLayer: layers, nHead: heads, layerNormEps: eps } = cfg;
  const positionOffset = cfg.positionOffset ?? 0;
  const c = start("bert-frozen", w);
  const g = c.g;
  const bias = g.mul(g.sub(g.constant([1], [], "one"), c.keyMask), g.constant([MASKED], [], "masked"));
  const tokens = g.node("Gather", [weight(c, "embeddings.word_embeddings.weight"), c.ids]);
  const positions = firstRows(c, weight(c, "embeddings.position_embeddings.weight"), positionOffset);
  const typeRow = c.w.get("embeddings.token_type_embeddings.weight").data.subarray(0, d);
  const summed = g.add(g.add(tokens, positions), g.constant(typeRow, [d], "type0"));
  let h = g.layerNorm(
    summed,
    weight(c, "embeddings.LayerNorm.weight"),
    weight(c, "embeddings.LayerNorm.bias"),
    eps,
  );
  const hidden = [h];
  const half = g.constant([0.5], [], "half");
  const one = g.constant([1], [], "one");
  const invSqrt2 = g.constant([Math.SQRT1_2], [], "rsqrt2");
  for (let i = 0; i < layers; i++) {
    const p = `encoder.layer.${i}`;
    const lin = (x: string, name: string) =>
      g.linear(x, linearWeight(c, `${p}.${name}.weight`), weight(c, `${p}.${name}.bias`));
    const ctx = attend(
      c,
      lin(h, "attention.self.query"),
      lin(h, "attention.self.key"),
      lin(h, "attention.self.value"),
      heads,
      d,
      bias,
    );
    const attn = g.layerNorm(
      g.add(lin(ctx, "attention.output.dense"), h),
      weight(c, `${p}.attention.output.LayerNorm.weight`),
      weight(c, `${p}.attention.output.LayerNorm.bias`),
      eps,
    );
    const pre = lin(attn, "intermediate.dense");
    const gelu = g.mul(g.mul(pre, half), g.add(one, g.node("Erf", [g.mul(pre, invSqrt2)])));
    h = g.layerNorm(
      g.add(lin(gelu, "output.dense"), attn),
      weight(c, `${p}.output.LayerNorm.weight`),
      weight(c, `${p}.output.LayerNorm.bias`),
      eps,
    );
    hidden.push(h);
  }
  return finishOutputs(c, hidden, h, d, w);
}

/** GPT-2 (pre-LN, causal, tanh GELU, final ln_f). Conv1D weights are already [in, out]. */
export function gpt2Graph(w: HfWeights): Uint8Array {
  const cfg = w.config;
  const d = numberField(cfg, "n_embd");
  const layers = numberField(cfg, "n_layer");
  const heads = numberField(cfg, "n_head");
  const positions = numberField(cfg, "n_positions", numberField(cfg, "n_ctx", 1024));
  const eps = numberField(cfg, "layer_norm_epsilon", 1e-5);
  const c = start("gpt2-frozen", w);
  const g = c.g;
  // Causal [seq, seq] lower triangle (sliced from the largest context) times the key mask.
  const tri = new Float32Array(positions * positions);
  for (let t = 0; t < positions; t++) for (let s = 0; s <= t; s++) tri[t * positions + s] = 1;
  const n = seqLen(c);
  const zeros = g.int64([0, 0]);
  const ends = g.node("Concat", [n, n], { axis: 0 });
  const causal = g.node("Slice", [
    g.constant(tri, [positions, positions], "causal"),
    zeros,
    ends,
    g.int64([0, 1]),
  ]);
  const allowed = g.mul(causal, c.keyMask);
  const bias = g.mul(g.sub(g.constant([1], [], "one"), allowed), g.constant([MASKED], [], "masked"));
  const tokens = g.node("Gather", [weight(c, "wte.weight"), c.ids]);
  let h = g.add(tokens, firstRows(c, weight(c, "wpe.weight")));
  const hidden = [h];
  const k0 = g.constant([Math.sqrt(2 / Math.PI)], [], "k0");
  const k1 = g.constant([0.044715], [], "k1");
  const half = g.constant([0.5], [], "half");
  const one = g.constant([1], [], "one");
  for (let i = 0; i < layers; i++) {
    const p = `h.${i}`;
    const ln = (x: string, name: string) =>
      g.layerNorm(x, weight(c, `${p}.${name}.weight`), weight(c, `${p}.${name}.bias`), eps);
    const lin = (x: string, name: string) =>
      g.linear(x, weight(c, `${p}.${name}.weight`), weight(c, `${p}.${name}.bias`));
    const qkv = lin(ln(h, "ln_1"), "attn.c_attn");
    const [q, k, v] = g.nodeMulti("Split", [qkv, g.int64([d, d, d])], 3, { axis: 2 }) as [
      string,
      string,
      string,
    ];
    const a = lin(attend(c, q, k, v, heads, d, bias), "attn.c_proj");
    const mid = g.add(h, a);
    const x = lin(ln(mid, "ln_2"), "mlp.c_fc");
    const inner = g.mul(k0, g.add(x, g.mul(k1, g.mul(g.mul(x, x), x))));
    const gelu = g.mul(g.mul(half, x), g.add(one, g.node("Tanh", [inner])));
    h = g.add(mid, lin(gelu, "mlp.c_proj"));
    hidden.push(h);
  }
  const final = g.layerNorm(h, weight(c, "ln_f.weight"), weight(c, "ln_f.bias"), eps);
  return finishOutputs(c, hidden, final, d, w);
}

/** The graph for a model directory's architecture (config.json's model_type). */
export function frozenGraph(w: HfWeights): Uint8Array {
  if (w.modelType === "bert" || w.modelType === "roberta") return bertGraph(w);
  if (w.modelType === "gpt2") return gpt2Graph(w);
  throw new ModelError(
    "E_CONFIG",
    `${w.dir}: no ONNX export for model_type "${w.modelType}" (bert, roberta, gpt2)`,
  );
}
