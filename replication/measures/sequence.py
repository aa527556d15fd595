"""Token-wise sensitivity of a sequence classifier as V25 §6 measure it on language.

Each token's embedding is LayerNorm-ed first (the model's :meth:`embed` returns the normalised embeddings,
:mod:`replication.models.language`), then Gaussian noise ``N(0, sigma^2 I)`` is added to *one* token of one
sequence, and the prediction is compared with the clean one. Padding is never perturbed: the average runs
over the ``sum(lengths) * repeats`` (sequence, real token, draw) triples. V25 state the noise as a variance
(15, and 4 in App. A.4); ``sigma`` here is its square root.

Positions are counted from the end of each sequence (0 is its last token, ``</s>``), as V25 right-align the
sequences to plot sensitivity against position (§6), so that "later tokens" means the same thing in every
sequence whatever its length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

#: Perturbed sequences per forward pass.
CHUNK = 512


@dataclass(frozen=True)
class SequenceSensitivity:
    fraction: float  # changed predictions / all perturbed evaluations
    changed: list[int]  # changed predictions at each position from the end (0: the last token)
    count: list[int]  # perturbed evaluations at each position from the end
    n_evaluations: int

    def as_dict(self) -> dict:
        return {
            "fraction": self.fraction,
            "changed": self.changed,
            "count": self.count,
            "n_evaluations": self.n_evaluations,
        }


@torch.no_grad()
def sequence_sensitivity(
    model,
    ids: torch.Tensor,
    lengths: torch.Tensor,
    sigma: float,
    repeats: int = 1,
    generator: torch.Generator | None = None,
    chunk: int = CHUNK,
    before_norm: bool = False,
) -> SequenceSensitivity:
    """Share of changed predictions of ``model`` (put in eval mode by the caller) when one real token's
    LayerNorm-ed embedding of one sequence of ``ids`` ``(B, L)`` gets noise of standard deviation ``sigma``.

    ``before_norm``: the noise goes on the embedding *before* the model's LayerNorm instead (``model.raw``,
    then ``model.norm``), so the perturbed token keeps the scale of every other token."""
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma: must be a positive finite noise standard deviation, got {sigma!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats: must be a positive integer, got {repeats!r}")
    emb = model.embed(ids)  # (B, L, d)
    raw = model.raw(ids) if before_norm else None
    clean = model.classify(emb, lengths).argmax(-1)
    # Every (sequence, real token, draw) triple, in that order.
    b = torch.repeat_interleave(torch.arange(len(ids)), lengths * repeats)
    t = torch.cat([torch.arange(int(n)).repeat_interleave(repeats) for n in lengths])
    back = lengths[b] - 1 - t  # position from the end
    width = int(lengths.max())
    changed = torch.zeros(width, dtype=torch.long)
    count = torch.bincount(back, minlength=width)
    for start in range(0, len(b), chunk):
        bb, tt = b[start : start + chunk], t[start : start + chunk]
        noisy = emb[bb].clone()
        noise = torch.randn(len(bb), emb.shape[-1], generator=generator, dtype=emb.dtype)
        if before_norm:
            noisy[torch.arange(len(bb)), tt] = model.norm(raw[bb, tt] + sigma * noise)
        else:
            noisy[torch.arange(len(bb)), tt] += sigma * noise
        flip = (model.classify(noisy, lengths[bb]).argmax(-1) != clean[bb]).long()
        changed.index_add_(0, back[start : start + chunk], flip)
    total = int(count.sum())
    return SequenceSensitivity(
        fraction=int(changed.sum()) / total, changed=changed.tolist(), count=count.tolist(), n_evaluations=total
    )
