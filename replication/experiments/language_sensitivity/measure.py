"""Training one :class:`~.runs.LanguageRun` with AdamW and measuring it at its checkpoints: accuracy on the
training and validation pairs, and the token-wise sensitivity (V25 §6) on both, at every noise variance."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from ...measures.sequence import sequence_sensitivity
from ...models.language import build
from .runs import LanguageRun, load_data, seeded, sigma

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


def checkpoint(model, run: LanguageRun, data: dict, epoch: int, loss: float | None) -> tuple[dict, list[dict]]:
    """The scalar row of one checkpoint and its per-position sensitivities (one row per split and variance)."""
    model.eval()
    row = {
        "epoch": epoch,
        "loss": loss,
        "train_acc": accuracy(model, *data["train"]),
        "val_acc": accuracy(model, *data["val"]),
    }
    positions = []
    for split in ("train", "val"):
        ids, lengths, _ = data[split]
        n = min(run.n_sens, len(ids))
        for j, var in enumerate(run.variances):
            g = seeded(run.seed, 10 * epoch + 2 * j + (split == "val"))
            s = sequence_sensitivity(
                model,
                ids[:n],
                lengths[:n],
                sigma(var),
                run.repeats,
                generator=g,
                before_norm=run.noise_at == "before_norm",
            )
            row[f"sens_{split}_{var:g}"] = s.fraction
            positions.append({"epoch": epoch, "split": split, "variance": var, "changed": s.changed, "count": s.count})
    return row, positions


def measure_language(run: LanguageRun, device: str = "cpu") -> dict:
    """Train ``run`` for its epochs (AdamW, cross-entropy), measuring it at each of its checkpoints.

    Returns the per-checkpoint rows (``history``), the per-position sensitivities (``positions``) and, as
    scalars, the last checkpoint's accuracies and sensitivities and the initial sensitivities (``init_*``).
    """
    data = load_data(run)
    torch.manual_seed(run.seed)
    model = build(run.model, data["vocab"], run.d, run.layers, run.heads, run.ff, run.max_len, run.dropout).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=run.lr, weight_decay=run.weight_decay)
    ids, lengths, labels = data["train"]
    order = seeded(run.seed, 7)
    history, positions, measuring, t0 = [], [], 0.0, time.perf_counter()
    if 0 in run.checkpoints:
        row, pos = checkpoint(model, run, data, 0, None)
        measuring = time.perf_counter() - t0
        history.append(row)
        positions += pos
    for epoch in range(1, run.epochs + 1):
        model.train()
        perm, total = torch.randperm(len(ids), generator=order), 0.0
        for i in range(0, len(ids), run.batch_size):
            b = perm[i : i + run.batch_size]
            width = int(lengths[b].max())
            loss = F.cross_entropy(model(ids[b, :width], lengths[b]), labels[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
        if epoch in run.checkpoints:
            t1 = time.perf_counter()
            row, pos = checkpoint(model, run, data, epoch, total / len(ids))
            measuring += time.perf_counter() - t1
            history.append(row)
            positions += pos
    seconds = time.perf_counter() - t0
    first, last = history[0], history[-1]
    out = {k: v for k, v in last.items() if k != "loss"}
    out.update({f"init_{k}": v for k, v in first.items() if k.startswith("sens_")})
    out.update(train_seconds=seconds - measuring, measure_seconds=measuring)
    return {**out, "final_epoch": last["epoch"], "history": history, "positions": positions}
