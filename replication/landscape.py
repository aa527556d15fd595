"""Loss-landscape measurements of HR24 §7.1: sharpness, parameter norm and LayerNorm blowup."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

#: Parameters HR24 leave out of θ: positional embeddings, whose count depends on n (§5).
HR24_EXCLUDE = ("pos_emb",)


def _split(model: nn.Module, exclude: Sequence[str]):
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    perturbed = [k for k in params if not any(k.startswith(e) for e in exclude)]
    if not perturbed:
        raise ValueError(f"exclude: {tuple(exclude)} leaves no parameter to perturb")
    return params, buffers, perturbed


def _perturbations(params, names, rho, count, seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(count):
        noisy = dict(params)
        for k in names:
            p = params[k]
            noisy[k] = p + rho * torch.randn(p.shape, generator=g, dtype=p.dtype).to(p.device)
        yield noisy


def _check(rho, n_perturbations):
    if not (isinstance(rho, (int, float)) and rho > 0):
        raise ValueError(f"rho: must be a positive number, got {rho!r}")
    if isinstance(n_perturbations, bool) or not isinstance(n_perturbations, int) or n_perturbations < 1:
        raise ValueError(f"n_perturbations: must be a positive integer, got {n_perturbations!r}")


@torch.no_grad()
def _outputs_under_noise(model, x, rho: float = 0.02, n_perturbations: int = 20, seed: int = 0,
                         exclude: Sequence[str] = HR24_EXCLUDE):  # fmt: skip
    """``T_θ(x)`` and a list of ``T_{θ+Δ}(x)``, one per Gaussian perturbation (model left unchanged)."""
    _check(rho, n_perturbations)
    was_training = model.training
    model.eval()
    try:
        params, buffers, names = _split(model, exclude)
        base = model(x)
        outs = [functional_call(model, {**noisy, **buffers}, (x,))
                for noisy in _perturbations(params, names, rho, n_perturbations, seed)]
    finally:
        model.train(was_training)
    return base, outs


def _sq_deviations(base: torch.Tensor, outs: list[torch.Tensor], rescale: float) -> np.ndarray:
    """``rescale * mean_x (T_{θ+Δ}(x) - T_θ(x))^2`` for each perturbation, ``(n_perturbations,)``."""
    return np.array([float(((out - base) ** 2).mean()) * rescale for out in outs])


def sharpness(model: nn.Module, x: torch.Tensor, rescale: float = 4.0, return_all: bool = False, **noise):
    """Average-direction sharpness, HR24 Eq. 15 with Gaussian directions (§7.1).

    ``rescale * mean_{Δ, x} (T_{θ+Δ}(x) - T_θ(x))^2`` with ``Δ ~ N(0, ρ² I)`` on every parameter whose
    name does not start with an entry of ``exclude`` (HR24: all but positional embeddings; LayerNorm,
    token embedding and head included). ``rescale=4`` puts {0,1}-scale outputs on the theory's ±1 scale.

    Args:
        model: maps ``x`` to ``(B,)`` outputs; it is not modified.
        x: ``(B, n)`` inputs, the same for every perturbation.
        return_all: also return the per-perturbation means, ``(n_perturbations,)``.
        noise: ``rho`` (0.02), ``n_perturbations`` (20), ``seed`` (0: the same directions for the same
            seed), ``exclude`` (parameter-name prefixes left unperturbed; default the positional embeddings).
    """
    base, outs = _outputs_under_noise(model, x, **noise)
    vals = _sq_deviations(base, outs, rescale)
    return (float(vals.mean()), vals) if return_all else float(vals.mean())


def delta_mse_sharpness(model: nn.Module, x: torch.Tensor, y: torch.Tensor, **settings) -> float:
    """The original code's sharpness: ``rescale * (E_Δ[MSE(θ+Δ)] - MSE(θ))`` against targets ``y``.

    ``settings`` are those of :func:`sharpness` (``rescale``, ``rho``, ``n_perturbations``, ``seed``,
    ``exclude``), with the same perturbations for the same ``seed``. Since
    ``MSE(θ+Δ) - MSE(θ) = E(T_{θ+Δ}-T_θ)² + 2 E(T_{θ+Δ}-T_θ)(T_θ - y)``, the two agree when the fit is
    exact (``T_θ ≈ y``).
    """
    return sharpness_both(model, x, y, **settings)["delta_mse"]


def sharpness_both(model: nn.Module, x: torch.Tensor, y: torch.Tensor, rescale: float = 4.0, **noise) -> dict[str, float]:
    """:func:`sharpness` (Eq. 15) and :func:`delta_mse_sharpness` from one pass over the perturbations.

    Returns ``{"sharpness", "sharpness_se", "delta_mse"}``, equal to the two functions called with the same
    arguments (``noise`` as in :func:`sharpness`; ``sharpness_se``: standard error of the Eq. 15 mean over
    perturbations); half the cost.
    """
    base, outs = _outputs_under_noise(model, x, **noise)
    y = y.to(base.dtype)
    sq = _sq_deviations(base, outs, rescale)
    mse = np.array([float(((out - y) ** 2).mean()) for out in outs])
    base_mse = float(((base - y) ** 2).mean())
    se = float(sq.std(ddof=1) / np.sqrt(len(sq))) if len(sq) > 1 else float("nan")
    return {"sharpness": float(sq.mean()), "sharpness_se": se, "delta_mse": rescale * (float(mse.mean()) - base_mse)}


def parameter_norm(model: nn.Module, exclude: Sequence[str] = HR24_EXCLUDE) -> float:
    """L2 norm of all parameters but those excluded (HR24 §7.1: positional embeddings)."""
    params, _, names = _split(model, exclude)
    return float(torch.sqrt(sum((params[k].detach().double() ** 2).sum() for k in names)))


@torch.no_grad()
def blowup_moments(model, x: torch.Tensor, convention: str = "eq5") -> dict[str, float]:
    """``E[Blowup]``, ``E[Blowup²]`` and ``E[log Blowup]`` over the inputs ``x`` (HR24 §7.1, Cor. 5)."""
    b = model.blowup(x, convention=convention).double()
    return {
        "blowup": float(b.mean()),
        "blowup_sq": float((b**2).mean()),
        "log_blowup": float(torch.log(b).mean()),
    }
