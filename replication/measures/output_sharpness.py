"""V25's sharpness of a classifier's outputs under parameter noise (§7.2): ShOp and ShPred.

Not HR24's sharpness (:mod:`replication.measures.sharpness`, Eq. 15, which reads a regression output's
squared change): V25 perturb every parameter by N(0, σ²) and report the mean absolute change of the
logits (ShOp) and the share of inputs whose predicted class changes (ShPred).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn


def predict_in_chunks(model: nn.Module, x: torch.Tensor, chunk: int = 2000) -> torch.Tensor:
    """Logits of ``x`` (N, ...) computed ``chunk`` inputs at a time: (N, classes)."""
    return torch.cat([model(x[i : i + chunk]) for i in range(0, len(x), chunk)])


@torch.no_grad()
def shop_shpred(
    model: nn.Module, x: torch.Tensor, sigma: float, repeats: int, generator: torch.Generator, train_mode: bool = False
) -> dict:
    """ShOp and ShPred of V25 §7.2 at inputs ``x``, model in eval mode (its weights are left unchanged).

    Each of ``repeats`` draws adds N(0, sigma²) to every parameter of a copy of the model. ShOp is the
    mean absolute change of the logits (over inputs, classes and draws); ShPred the share of inputs whose
    predicted class changes (V25 write the binary case ``1[Φ ≥ 0]``; with several classes, the argmax).
    ``train_mode=True`` measures as V25's released code does: the model left in train mode, so a model with
    dropout draws a fresh mask for the clean outputs and for every noisy pass (torch's global RNG), and the
    changes count dropout's as well as the parameter noise's; the model is returned in eval mode.
    """
    model.train(train_mode)
    clean = predict_in_chunks(model, x)
    shop, shpred = [], []
    for _ in range(repeats):
        noisy = copy.deepcopy(model)
        for p in noisy.parameters():
            p.add_(sigma * torch.randn(p.shape, generator=generator, dtype=p.dtype))
        out = predict_in_chunks(noisy, x)
        shop.append(float((out - clean).abs().mean()))
        shpred.append(float((out.argmax(-1) != clean.argmax(-1)).float().mean()))
    model.eval()
    return {"shop": float(np.mean(shop)), "shpred": float(np.mean(shpred)), "shop_draws": shop, "shpred_draws": shpred}
