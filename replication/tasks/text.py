"""Sentence pairs as token ids: a byte-level BPE trained on the corpus, RoBERTa's pair layout, GLUE's files.

* :func:`train_tokenizer` trains a byte-level BPE (the ``tokenizers`` package, RoBERTa's kind of tokenizer)
  on a list of texts and caches it as JSON under a name that hashes the texts and the settings, so the
  same corpus gives the same tokenizer file, and a second call reads it.
* :func:`encode_pairs` writes each pair RoBERTa's way, ``<s> A </s></s> B </s>`` (V25 §6: ``<s>`` is the
  classification token), truncating the longer sentence first, padded with ``<pad>`` on the right.
* :func:`read_glue` reads the MRPC or QQP files a reader has from GLUE (``train.tsv``, ``dev.tsv``).
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import torch

from .wordnet import Pair

SPECIAL = ("<s>", "<pad>", "</s>", "<unk>")
BOS, PAD, EOS = 0, 1, 2
#: GLUE's two sentence-pair tasks V25 use: columns (first, second, label) of train.tsv / dev.tsv.
GLUE = {"mrpc": ("#1 String", "#2 String", "Quality"), "qqp": ("question1", "question2", "is_duplicate")}


def train_tokenizer(texts: list[str], vocab_size: int, cache_dir: str | Path):
    """A byte-level BPE with ``vocab_size`` tokens (the four of :data:`SPECIAL` first) trained on ``texts``;
    cached in ``cache_dir`` under a hash of the texts and the size, read from there when present."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    h = hashlib.sha1(json.dumps([vocab_size, texts]).encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"bpe_{vocab_size}_{h}.json"
    if path.is_file():
        return Tokenizer.from_file(str(path))
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL),
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer=trainer)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tok.save(str(tmp))
    tmp.replace(path)
    return tok


def encode_pairs(tokenizer, pairs: list[Pair], max_len: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(ids (N, L), lengths (N,), labels (N,))``: ``<s> A </s></s> B </s>``, at most ``max_len`` tokens (the
    longer sentence cut first), padded with ``<pad>``; ``L`` is the longest pair's length."""
    if max_len < 8:
        raise ValueError(f"max_len: must be at least 8 tokens, got {max_len}")
    firsts = tokenizer.encode_batch([p.first for p in pairs])
    seconds = tokenizer.encode_batch([p.second for p in pairs])
    rows = []
    for a, b in zip(firsts, seconds):
        a, b = list(a.ids), list(b.ids)
        while len(a) + len(b) > max_len - 4:
            (a if len(a) >= len(b) else b).pop()
        rows.append([BOS] + a + [EOS, EOS] + b + [EOS])
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
    lengths = torch.tensor([len(r) for r in rows])
    return ids, lengths, torch.tensor([p.label for p in pairs])


def read_glue(dataset: str, data_dir: str | Path) -> tuple[list[Pair], list[Pair]]:
    """Training and validation pairs of GLUE's ``mrpc`` or ``qqp`` from ``data_dir/train.tsv`` and
    ``data_dir/dev.tsv`` (GLUE's layout: a header row, tab-separated; rows with a missing field are skipped)."""
    if dataset not in GLUE:
        raise ValueError(f"dataset: GLUE files are read for {sorted(GLUE)}, got {dataset!r}")
    folder = Path(data_dir)
    missing = [n for n in ("train.tsv", "dev.tsv") if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"data_dir: {folder} has no {', '.join(missing)}; for dataset={dataset!r} put GLUE's "
            f"{dataset.upper()} train.tsv and dev.tsv there"
        )
    a, b, y = GLUE[dataset]
    out = []
    for name in ("train.tsv", "dev.tsv"):
        with open(folder / name, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            if not {a, b, y} <= set(reader.fieldnames or ()):
                raise ValueError(f"data_dir: {folder / name} lacks the columns {[a, b, y]} of GLUE's {dataset.upper()}")
            rows = [r for r in reader if r.get(a) and r.get(b) and (r.get(y) or "").strip() in ("0", "1")]
        out.append([Pair(word=str(i), first=r[a], second=r[b], label=int(r[y])) for i, r in enumerate(rows)])
    return out[0], out[1]
