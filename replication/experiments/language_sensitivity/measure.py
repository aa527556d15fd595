"""Chapter 11's runs: the data a run reads (:func:`load_data`), training one :class:`~.run.LanguageRun` with AdamW
and measuring it at its checkpoints (accuracy on the training and validation pairs, and the token-wise sensitivity of
V25 §6 on both, at every noise variance), and the sweep read back."""

from __future__ import annotations

import functools
import math
import time

import pandas as pd
import torch
import torch.nn.functional as F

from ...measures.sequence import sequence_sensitivity
from ...models.language import build, trained_parameters
from ...paths import REPO
from ...runs.store import Store
from ...runs.sweep import load_results, run_sweep
from ...tasks import text, wordnet
from .config import LanguageConfig, language_runs
from .run import KIND, LSTM_CODE, NAMES, VAL_FRACTION, LanguageRun

#: Where trained tokenizers are cached.
TOKENIZER_CACHE = REPO / "_cache" / "tokenizers"


@functools.lru_cache(maxsize=4)
def load_pairs(dataset: str, data_dir: str, pairing: str = "sense") -> tuple[list, list]:
    """All training and validation pairs of the data set (WordNet: of its task ``pairing``), the training ones
    shuffled once (seed 0)."""
    import random

    if dataset == "wordnet" and pairing == "word":
        train, val = wordnet.word_pairs(wordnet.read_synsets(data_dir or wordnet.WORDNET_DIR), VAL_FRACTION)
    elif dataset == "wordnet" and pairing == "paraphrase":
        train, val = wordnet.paraphrase_pairs(wordnet.read_synsets(data_dir or wordnet.WORDNET_DIR), VAL_FRACTION)
    elif dataset == "wordnet" and pairing == "order":
        train, val = wordnet.order_pairs(wordnet.read_synsets(data_dir or wordnet.WORDNET_DIR), VAL_FRACTION)
    elif dataset == "wordnet":
        train, val = wordnet.split_by_word(
            wordnet.sense_pairs(wordnet.read_synsets(data_dir or wordnet.WORDNET_DIR)), VAL_FRACTION
        )
    else:
        train, val = text.read_glue(dataset, data_dir)
    train, val = list(train), list(val)
    random.Random(0).shuffle(train)
    random.Random(1).shuffle(val)
    return train, val


def load_data(run: LanguageRun) -> dict:
    """The run's pairs as token ids: ``{"train": (ids, lengths, labels), "val": ...}`` and the tokenizer,
    trained on the sentences of the run's training pairs; with a curriculum also ``"pre"``, as many training pairs
    of WordNet's order task, whose sentences the tokenizer is trained on too."""
    train, val = load_pairs(run.dataset, run.data_dir, run.pairing)
    train, val = train[: run.n_train or None], val[: run.n_val or None]
    pre = load_pairs(run.dataset, run.data_dir, "order")[0][: len(train)] if run.curriculum else []
    texts = sorted({p.first for p in train + pre} | {p.second for p in train + pre})
    tok = text.train_tokenizer(texts, run.vocab_size, TOKENIZER_CACHE)
    out = {
        "train": text.encode_pairs(tok, train, run.max_len),
        "val": text.encode_pairs(tok, val, run.max_len),
        "vocab": tok.get_vocab_size(),
    }
    return out | ({"pre": text.encode_pairs(tok, pre, run.max_len)} if run.curriculum else {})


def sigma(variance: float) -> float:
    return math.sqrt(variance)


def seeded(seed: int, salt: int) -> torch.Generator:
    return torch.Generator().manual_seed(1000 * seed + salt)


#: Pairs per forward pass when computing accuracies.
EVAL_BATCH = 512


@torch.no_grad()
def accuracy(model, ids: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    hits = sum(
        int(
            (model(ids[i : i + EVAL_BATCH], lengths[i : i + EVAL_BATCH]).argmax(-1) == labels[i : i + EVAL_BATCH]).sum()
        )
        for i in range(0, len(ids), EVAL_BATCH)
    )
    return hits / len(ids)


def checkpoint(
    model, run: LanguageRun, data: dict, epoch: int, loss: float | None, code: bool = False, sens: bool = True
) -> tuple[dict, list[dict]]:
    """The scalar row of one checkpoint and its per-position sensitivities (one row per split and variance);
    ``code``: also the training pairs with the noise on the path of V25's released code (``code_sens_*`` and
    position rows with ``"path": "code"``), for a transformer: on the token embedding before the positions and
    the LayerNorm (an LSTM's code path is the paper's, measured once); ``sens=False``: the accuracies only."""
    model.eval()
    row = {
        "epoch": epoch,
        "loss": loss,
        "train_acc": accuracy(model, *data["train"]),
        "val_acc": accuracy(model, *data["val"]),
    }
    positions = []
    todo = [(split, "", run.noise_at == "before_norm") for split in run.sens_splits] if sens else []
    todo += [("train", "code_", True)] if sens and code and run.model != "lstm" else []
    for split, path, before in todo:
        ids, lengths, _ = data[split]
        n = min(run.n_sens, len(ids))
        for j, var in enumerate(run.variances):
            salt = 10 * epoch + 2 * j + (split == "val") + (100_000 if path else 0)
            g = seeded(run.seed, salt)
            s = sequence_sensitivity(
                model, ids[:n], lengths[:n], sigma(var), run.repeats, generator=g, before_norm=before
            )
            row[f"{path}sens_{split}_{var:g}"] = s.fraction
            pos = {"epoch": epoch, "split": split, "variance": var, "changed": s.changed, "count": s.count}
            positions.append({**pos, "path": "code"} if path else pos)
    return row, positions


def rate(run: LanguageRun, epoch: int, step: int, ramp: int) -> float:
    """The learning rate of training step ``step`` (counted from 0 over all epochs) in epoch ``epoch`` (from 1):
    ``lr × lr_decay^(epoch − 1)``, times ``(step + 1) / ramp`` over the first ``ramp`` steps (the warm-up)."""
    return run.lr * run.lr_decay ** (epoch - 1) * (min(1.0, (step + 1) / ramp) if ramp else 1.0)


def train_epoch(model, opt, split: tuple, batch_size: int, generator: torch.Generator, lr_at=None) -> float:
    """One epoch of AdamW steps on cross-entropy over ``split`` (ids, lengths, labels), in the order ``generator``
    draws; ``lr_at(k)``: the learning rate of the epoch's ``k``-th step (None: the optimiser's own). Returns the
    summed loss."""
    ids, lengths, labels = split
    model.train()
    perm, total = torch.randperm(len(ids), generator=generator), 0.0
    for k, i in enumerate(range(0, len(ids), batch_size)):
        if lr_at is not None:  # a warm-up sets every step's rate
            for group in opt.param_groups:
                group["lr"] = lr_at(k)
        b = perm[i : i + batch_size]
        width = int(lengths[b].max())
        loss = F.cross_entropy(model(ids[b, :width], lengths[b]), labels[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(b)
    return total


def measure_language(run: LanguageRun, device: str = "cpu") -> dict:
    """Train ``run`` for its epochs (AdamW, cross-entropy), measuring it at each of its checkpoints.

    Returns the per-checkpoint rows (``history``), the per-position sensitivities (``positions``) and, as
    scalars, the last checkpoint's accuracies and sensitivities and the initial sensitivities (``init_*``).
    """
    data = load_data(run)
    torch.manual_seed(run.seed)
    model = build(run.model, data["vocab"], run.d, run.layers, run.heads, run.ff, run.max_len, run.dropout, run.head)
    model = model.to(device)
    opt = torch.optim.AdamW(trained_parameters(model, run.trains), lr=run.lr, weight_decay=run.weight_decay)
    ids, lengths, labels = data["train"]
    order = seeded(run.seed, 7)
    history, positions, measuring, t0 = [], [], 0.0, time.perf_counter()
    per_epoch = (len(ids) + run.batch_size - 1) // run.batch_size
    ramp = run.warmup * per_epoch  # warm-up steps
    last = run.checkpoints[-1]
    if 0 in run.checkpoints:
        row, pos = checkpoint(model, run, data, 0, None, code=run.code_path)
        measuring = time.perf_counter() - t0
        history.append(row)
        positions += pos
    if run.curriculum:  # the order task first, with an optimiser of its own at the run's rate; then the run's task
        pre_opt = torch.optim.AdamW(trained_parameters(model, run.trains), lr=run.lr, weight_decay=run.weight_decay)
        pre_order = seeded(run.seed, 8)
        for _ in range(run.curriculum):
            train_epoch(model, pre_opt, data["pre"], run.batch_size, pre_order)
    for epoch in range(1, run.epochs + 1):
        at = (lambda k, e=epoch: rate(run, e, (e - 1) * per_epoch + k, ramp)) if ramp else None
        total = train_epoch(model, opt, data["train"], run.batch_size, order, at)
        if run.lr_decay != 1.0 and not ramp:  # V25's scripts: the learning rate times 0.9 after every epoch
            for group in opt.param_groups:
                group["lr"] *= run.lr_decay
        if epoch in run.checkpoints:
            t1 = time.perf_counter()
            end, mean_loss = epoch == last, total / len(ids)
            sens = end or not run.sens_ends
            row, pos = checkpoint(model, run, data, epoch, mean_loss, code=run.code_path and end, sens=sens)
            measuring += time.perf_counter() - t1
            history.append(row)
            positions += pos
    seconds = time.perf_counter() - t0
    first, last = history[0], history[-1]
    out = {k: v for k, v in last.items() if k != "loss"}
    out.update({f"init_{k}": v for k, v in first.items() if k.startswith(("sens_", "code_sens_"))})
    out.update(train_seconds=seconds - measuring, measure_seconds=measuring)
    return {**out, "final_epoch": last["epoch"], "history": history, "positions": positions}


def run_table(cfg: LanguageConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """One row per run of ``cfg`` (config fields and scalar results), computed or read from the results."""
    cache = cache if cache is not None else Store(scale=cfg.scale)
    runs = run_sweep(language_runs(cfg), measure_language, KIND, cache=cache, n_jobs=cfg.n_jobs, progress=progress)
    code = (runs["model"] == "lstm") & (runs["trains"] == "lstm")
    return runs.assign(name=runs["model"].map(NAMES).where(~code, LSTM_CODE))


def curves(cfg: LanguageConfig, runs: pd.DataFrame, cache: Store | None = None) -> pd.DataFrame:
    """Every checkpoint of every run: one row per (model, seed, epoch) with accuracies and sensitivities."""
    cache = cache if cache is not None else Store(scale=cfg.scale)
    frames = [
        pd.DataFrame(res["history"]).assign(model=row["model"], name=row["name"], seed=row["seed"])
        for (_, row), res in zip(runs.iterrows(), load_results(KIND, language_runs(cfg), cache=cache))
    ]
    return pd.concat(frames, ignore_index=True)


def positions(cfg: LanguageConfig, runs: pd.DataFrame, cache: Store | None = None) -> pd.DataFrame:
    """Sensitivity per position from the end: one row per (model, seed, epoch, split, variance, position)."""
    cache = cache if cache is not None else Store(scale=cfg.scale)
    rows = []
    for (_, row), res in zip(runs.iterrows(), load_results(KIND, language_runs(cfg), cache=cache)):
        for p in res["positions"]:
            for back, (c, n) in enumerate(zip(p["changed"], p["count"])):
                rows.append(
                    {
                        "model": row["model"],
                        "name": row["name"],
                        "seed": row["seed"],
                        "trains": row.get("trains", "all"),
                        "path": p.get("path", "paper"),
                        "epoch": p["epoch"],
                        "split": p["split"],
                        "variance": p["variance"],
                        "from_end": back,
                        "changed": c,
                        "count": n,
                        "sensitivity": c / n if n else float("nan"),
                    }
                )
    return pd.DataFrame(rows)
