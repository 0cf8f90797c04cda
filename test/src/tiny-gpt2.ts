/** A tiny random GPT-2 + BPE tokenizer in the Hugging Face layout, for `--model DIR` in fast tests. */
import { GPT2 } from "@memarc/models";
import { saveGPT2 } from "@memarc/models/node";
import { initBackend } from "@memarc/tensor";
import { trainBpe } from "@memarc/tokenizer";
import { saveBpe } from "@memarc/tokenizer/node";

export async function saveTinyGpt2(dir: string, o: { nPositions?: number } = {}): Promise<string> {
  await initBackend({ log: null });
  const tok = trainBpe(["free money offer now", "meeting agenda notes attached", "hello world"], {
    vocabSize: 280,
  });
  const model = GPT2.random(
    {
      nLayer: 2,
      nEmbd: 32,
      nHead: 2,
      nPositions: o.nPositions ?? 32,
      vocabSize: tok.vocabSize,
      layerNormEps: 1e-5,
    },
    1,
  );
  await saveGPT2(model, dir);
  saveBpe(tok, dir);
  model.dispose();
  return dir;
}
