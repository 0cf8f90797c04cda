import type { BackboneConfig } from "../core/backbone.js";
import { validateBackboneConfig } from "../core/config.js";
import { ModelError } from "../core/errors.js";

/**
 * BERT hyper-parameters: the common backbone config plus the MLP width and token-type rows.
 *
 * RoBERTa is this network with other files: byte-level BPE instead of WordPiece, weights under
 * "roberta.", a one-row token-type table, and positions counted from `pad_token_id + 1` (Hugging
 * Face numbers real tokens padding_idx + 1, + 2, …; pads get padding_idx). With right padding a real
 * token at index t reads row offset + t, so the loader keeps rows offset … of the file's table as
 * rows 0 … of ours and the model itself is BERT's; `positionOffset` says how many leading rows the
 * file has (the rows before it are read only by pads, whose states every consumer masks).
 */
export interface BertConfig extends BackboneConfig {
  /** MLP ("intermediate") width; 4·nEmbd in BERT and MiniLM, but free in general. */
  nInner: number;
  /** Rows of the token-type (segment) table; inputs are single segments, so only row 0 is read. */
  typeVocabSize: number;
  /** Which files describe it; absent means "bert". */
  family?: BertFamily;
  /** Leading position rows in the file that no real token reads (RoBERTa: pad_token_id + 1; BERT: 0). */
  positionOffset?: number;
}

export type BertFamily = "bert" | "roberta";

export function validateBertConfig(c: BertConfig): BertConfig {
  const off = c.positionOffset ?? 0;
  if (!Number.isSafeInteger(off) || off < 0)
    throw new ModelError("E_CONFIG", `positionOffset must be a non-negative integer, got ${off}`);
  return validateBackboneConfig(c, ["nInner", "typeVocabSize"]);
}

/**
 * Read a Hugging Face BERT or RoBERTa config.json object (model_type "bert", e.g. all-MiniLM-L6-v2,
 * or "roberta", e.g. distilroberta-base).
 */
export function bertConfigFromHF(j: Record<string, unknown>): BertConfig {
  const num = (k: string, dflt?: number): number => {
    const v = j[k] ?? dflt;
    if (typeof v !== "number") throw new ModelError("E_CONFIG", `config.json: "${k}" must be a number`);
    return v;
  };
  const family = j["model_type"];
  if (family !== "bert" && family !== "roberta")
    throw new ModelError("E_CONFIG", `config.json: model_type "${String(family)}" is not bert or roberta`);
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
    throw new ModelError("E_CONFIG", `config.json: is_decoder ${family} (causal) is unsupported`);
  // RoBERTa's position ids start after its padding index (transformers'
  // create_position_ids_from_input_ids); its config's defaults differ from BERT's.
  const positionOffset = family === "roberta" ? num("pad_token_id", 1) + 1 : 0;
  const maxPositions = num("max_position_embeddings");
  if (maxPositions <= positionOffset)
    throw new ModelError(
      "E_CONFIG",
      `config.json: max_position_embeddings ${maxPositions} leaves no position after the ${positionOffset} reserved rows`,
    );
  return validateBertConfig({
    nLayer: num("num_hidden_layers"),
    nEmbd: num("hidden_size"),
    nHead: num("num_attention_heads"),
    nInner: num("intermediate_size"),
    nPositions: maxPositions - positionOffset,
    vocabSize: num("vocab_size"),
    typeVocabSize: num("type_vocab_size", family === "roberta" ? 1 : 2),
    layerNormEps: num("layer_norm_eps", family === "roberta" ? 1e-5 : 1e-12),
    family,
    positionOffset,
  });
}

export function bertConfigToHF(c: BertConfig): Record<string, unknown> {
  const roberta = c.family === "roberta";
  const offset = c.positionOffset ?? 0;
  return {
    architectures: [roberta ? "RobertaModel" : "BertModel"],
    model_type: roberta ? "roberta" : "bert",
    hidden_act: "gelu",
    hidden_size: c.nEmbd,
    num_hidden_layers: c.nLayer,
    num_attention_heads: c.nHead,
    intermediate_size: c.nInner,
    max_position_embeddings: c.nPositions + offset,
    type_vocab_size: c.typeVocabSize,
    vocab_size: c.vocabSize,
    layer_norm_eps: c.layerNormEps,
    position_embedding_type: "absolute",
    ...(roberta ? { pad_token_id: offset - 1, bos_token_id: 0, eos_token_id: 2 } : { pad_token_id: 0 }),
    torch_dtype: "float32",
  };
}
