import type { BackboneConfig } from "../core/backbone.js";
import { validateBackboneConfig } from "../core/config.js";
import { ModelError } from "../core/errors.js";

/** BERT hyper-parameters: the common backbone config plus the MLP width and token-type rows. */
export interface BertConfig extends BackboneConfig {
  /** MLP ("intermediate") width; 4·nEmbd in BERT and MiniLM, but free in general. */
  nInner: number;
  /** Rows of the token-type (segment) table; inputs are single segments, so only row 0 is read. */
  typeVocabSize: number;
}

export function validateBertConfig(c: BertConfig): BertConfig {
  return validateBackboneConfig(c, ["nInner", "typeVocabSize"]);
}

/** Read a Hugging Face BERT config.json object (model_type "bert", e.g. all-MiniLM-L6-v2). */
export function bertConfigFromHF(j: Record<string, unknown>): BertConfig {
  const num = (k: string, dflt?: number): number => {
    const v = j[k] ?? dflt;
    if (typeof v !== "number") throw new ModelError("E_CONFIG", `config.json: "${k}" must be a number`);
    return v;
  };
  if (j["model_type"] !== "bert")
    throw new ModelError("E_CONFIG", `config.json: model_type "${String(j["model_type"])}" is not bert`);
  // "gelu" is the exact erf form in transformers; the tanh approximation would be "gelu_new".
  const act = j["hidden_act"] ?? "gelu";
  if (act !== "gelu")
    throw new ModelError("E_CONFIG", `config.json: hidden_act "${String(act)}" unsupported (gelu)`);
  const pos = j["position_embedding_type"] ?? "absolute";
  if (pos !== "absolute")
    throw new ModelError(
      "E_CONFIG",
      `config.json: position_embedding_type "${String(pos)}" unsupported (absolute)`,
    );
  if (j["is_decoder"] === true)
    throw new ModelError("E_CONFIG", "config.json: is_decoder BERT (causal) is unsupported");
  return validateBertConfig({
    nLayer: num("num_hidden_layers"),
    nEmbd: num("hidden_size"),
    nHead: num("num_attention_heads"),
    nInner: num("intermediate_size"),
    nPositions: num("max_position_embeddings"),
    vocabSize: num("vocab_size"),
    typeVocabSize: num("type_vocab_size", 2),
    layerNormEps: num("layer_norm_eps", 1e-12),
  });
}

export function bertConfigToHF(c: BertConfig): Record<string, unknown> {
  return {
    architectures: ["BertModel"],
    model_type: "bert",
    hidden_act: "gelu",
    hidden_size: c.nEmbd,
    num_hidden_layers: c.nLayer,
    num_attention_heads: c.nHead,
    intermediate_size: c.nInner,
    max_position_embeddings: c.nPositions,
    type_vocab_size: c.typeVocabSize,
    vocab_size: c.vocabSize,
    layer_norm_eps: c.layerNormEps,
    position_embedding_type: "absolute",
    pad_token_id: 0,
    torch_dtype: "float32",
  };
}
