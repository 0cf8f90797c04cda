import type { BackboneConfig } from "../core/backbone.js";
import { validateBackboneConfig } from "../core/config.js";
import { ModelError } from "../core/errors.js";

/**
 * GPT-2 architecture hyper-parameters (names follow the paper/our code; HF names in `toHF`): exactly
 * the common backbone config, since GPT-2's MLP is always 4·nEmbd wide.
 */
export type GPT2Config = BackboneConfig;

export function validateConfig(c: GPT2Config): GPT2Config {
  return validateBackboneConfig(c);
}

/** Read a Hugging Face GPT-2 config.json object. */
export function configFromHF(j: Record<string, unknown>): GPT2Config {
  const num = (k: string, dflt?: number): number => {
    const v = j[k] ?? dflt;
    if (typeof v !== "number") throw new ModelError("E_CONFIG", `config.json: "${k}" must be a number`);
    return v;
  };
  if (j["model_type"] !== undefined && j["model_type"] !== "gpt2")
    throw new ModelError("E_CONFIG", `config.json: model_type "${String(j["model_type"])}" is not gpt2`);
  const act = j["activation_function"];
  if (act !== undefined && act !== "gelu_new")
    throw new ModelError(
      "E_CONFIG",
      `config.json: activation_function "${String(act)}" unsupported (gelu_new)`,
    );
  if (j["n_inner"] !== undefined && j["n_inner"] !== null && j["n_inner"] !== 4 * num("n_embd"))
    throw new ModelError("E_CONFIG", "config.json: n_inner other than 4·n_embd is unsupported");
  return validateConfig({
    nLayer: num("n_layer"),
    nEmbd: num("n_embd"),
    nHead: num("n_head"),
    nPositions: num("n_positions", num("n_ctx", 1024)),
    vocabSize: num("vocab_size"),
    layerNormEps: num("layer_norm_epsilon", 1e-5),
  });
}

export function configToHF(c: GPT2Config): Record<string, unknown> {
  return {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    activation_function: "gelu_new",
    n_layer: c.nLayer,
    n_embd: c.nEmbd,
    n_head: c.nHead,
    n_positions: c.nPositions,
    n_ctx: c.nPositions,
    n_inner: null,
    vocab_size: c.vocabSize,
    layer_norm_epsilon: c.layerNormEps,
    tie_word_embeddings: true,
    torch_dtype: "float32",
  };
}
