"""Parameter norms and LayerNorm blowup (HR24 §7.1, Cor. 5), and the weight norm of V25's grokking runs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .sharpness import HR24_EXCLUDE, _split


def parameter_norm(model: nn.Module, exclude: Sequence[str] = HR24_EXCLUDE) -> float:
    """L2 norm of all parameters but those excluded (HR24 §7.1: positional embeddings)."""
    params, _, names = _split(model, exclude)
    return float(torch.sqrt(sum((params[k].detach().double() ** 2).sum() for k in names)))


@torch.no_grad()
def blowup_moments(model, x: torch.Tensor, convention: str = "eq5") -> dict[str, float]:
    """``E[Blowup]``, ``E[Blowup²]`` and ``E[log Blowup]`` over the inputs ``x`` (HR24 §7.1, Cor. 5)."""
    b = model.blowup(x, convention=convention).double()
    return {"blowup": float(b.mean()), "blowup_sq": float((b**2).mean()), "log_blowup": float(torch.log(b).mean())}


def weight_norm(model: nn.Module) -> float:
    """L2 norm of all parameters together (the released code's weight norm)."""
    return float(torch.sqrt(sum((q.detach().double() ** 2).sum() for q in model.parameters())))
