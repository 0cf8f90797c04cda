/** Production bindings of the coordinator's seams: privacy accountants and safetensors weights. */
import { readSafetensors, writeSafetensors } from "@memarc/models";
import { type AccountantKind, accountantFromJSON, createAccountant } from "@memarc/privacy";
import type { Weights } from "../weights.js";
import type { AccountantFactory } from "./ledger.js";
import type { WeightsCodec } from "./state.js";

export function accountantFactory(kind: AccountantKind): AccountantFactory {
  return {
    create: () => createAccountant(kind),
    fromJSON: (json) => {
      const a = accountantFromJSON(json as Parameters<typeof accountantFromJSON>[0]);
      if (a.kind !== kind) throw new TypeError(`saved accountant is "${a.kind}", this run uses "${kind}"`);
      return a;
    },
  };
}

export const safetensorsWeightsCodec: WeightsCodec = {
  encode(w: Weights): Uint8Array {
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [k, v] of Object.entries(w)) tensors[k] = { shape: [v.length], data: v };
    return writeSafetensors(tensors, { format: "memarc-weights" });
  },
  decode(bytes: Uint8Array): Weights {
    const out: Weights = {};
    for (const [k, t] of readSafetensors(bytes).tensors) out[k] = t.data;
    return out;
  },
};
