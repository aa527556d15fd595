"""Loss-landscape measurements of HR24 §7.1: sharpness, parameter norm and LayerNorm blowup."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

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


#: Perturbations go through one batched forward pass (``vmap`` over stacked parameters) when a single
#: perturbation's forward is this small (inputs × positions): on one CPU thread, 20 perturbations of the
#: cpu-scale encoder (d = 32) run 3.8× faster batched at 16 strings of n = 4 (64 tokens) and 1.4× at 64
#: strings of n = 6 (384), but 0.9× at 256 strings of n = 8 and 0.2× at 2048 strings of n = 30 (measured on
#: a 2-core machine; README, "Performance"). On a GPU every size is batched, in chunks sized to its free memory.
CPU_BATCH_TOKENS = 512

#: Memory a batched chunk of perturbations may use for activations on the CPU (bytes).
CPU_CHUNK_BYTES = 256 * 2**20


def _unique_rows(x: torch.Tensor):
    """``(rows, inverse)`` with ``rows[inverse] == x``, or ``(x, None)`` when deduplicating saves nothing.

    Only token strings (integer tensors) are deduplicated: a model reading them maps each row on its own,
    so the outputs of the distinct strings, put back in place, are those of the whole batch. At the cpu
    scale's 2048 evaluation strings this leaves 16 strings at n = 4 and 256 at n = 8.
    """
    if x.is_floating_point() or x.dim() < 2 or len(x) < 2:
        return x, None
    rows, inverse = torch.unique(x, dim=0, return_inverse=True)
    return (x, None) if len(rows) == len(x) else (rows, inverse)


def _bytes_per_token(model: nn.Module) -> int:
    """Rough activation memory of one input position in a forward pass (float32 ``d``-vectors kept alive)."""
    cfg = getattr(model, "cfg", None)
    d = getattr(cfg, "d", None) or max((p.shape[-1] for p in model.parameters() if p.dim() >= 1), default=64)
    n = getattr(cfg, "n", 1)
    heads = getattr(cfg, "heads", 1)
    return 4 * (16 * d + 2 * heads * n)


def perturbation_chunk(model: nn.Module, x: torch.Tensor, n_perturbations: int) -> int:
    """Perturbations evaluated per forward pass for inputs ``x`` (the distinct ones): 1 means one at a time.

    CPU: batched only when one perturbation's forward is at most :data:`CPU_BATCH_TOKENS` positions, as many
    as fit in :data:`CPU_CHUNK_BYTES`. CUDA: as many as fit in a quarter of the free GPU memory.
    """
    tokens = max(1, x.numel() if x.dim() >= 2 else len(x))
    per = tokens * _bytes_per_token(model)
    if x.device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(x.device)
        budget = free // 4
    elif tokens <= CPU_BATCH_TOKENS:
        budget = CPU_CHUNK_BYTES
    else:
        return 1
    return int(max(1, min(n_perturbations, budget // per)))


def _batched_outputs(model, fixed: dict, chunk: list[dict], names: list[str], x: torch.Tensor) -> list[torch.Tensor]:
    """Outputs of ``len(chunk)`` perturbed models in one forward pass: ``vmap`` over stacked parameters."""
    stacked = {k: torch.stack([noisy[k] for noisy in chunk]) for k in names}
    out = vmap(lambda p: functional_call(model, {**fixed, **p}, (x,)))(stacked)
    return list(out.unbind(0))


@torch.no_grad()
def _outputs_under_noise(model, x, rho: float = 0.02, n_perturbations: int = 20, seed: int = 0,
                         exclude: Sequence[str] = HR24_EXCLUDE, chunk: int | None = None,
                         dedup: bool = True):  # fmt: skip
    """``T_θ(x)`` and a list of ``T_{θ+Δ}(x)``, one per Gaussian perturbation (model left unchanged).

    The perturbations are drawn in a fixed order (perturbation by perturbation, parameter by parameter in
    ``named_parameters()`` order, one generator seeded with ``seed``), whatever the evaluation strategy:
    ``chunk`` perturbations per forward pass (None: :func:`perturbation_chunk`; 1: one at a time with
    ``functional_call``), over the distinct rows of ``x`` when ``dedup`` (outputs put back in place).
    ``chunk=1, dedup=False`` is the plain loop, one forward pass per perturbation over every input.
    """
    _check(rho, n_perturbations)
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"chunk: must be a positive integer or None, got {chunk!r}")
    was_training = model.training
    model.eval()
    try:
        params, buffers, names = _split(model, exclude)
        rows, inverse = _unique_rows(x) if dedup else (x, None)
        base = model(rows)
        if chunk is None:
            chunk = perturbation_chunk(model, rows, n_perturbations)
        draws = _perturbations(params, names, rho, n_perturbations, seed)
        outs: list[torch.Tensor] = []
        if chunk == 1:
            outs = [functional_call(model, {**noisy, **buffers}, (rows,)) for noisy in draws]
        else:
            fixed = {**{k: v for k, v in params.items() if k not in names}, **buffers}
            for start in range(0, n_perturbations, chunk):
                group = [next(draws) for _ in range(min(chunk, n_perturbations - start))]
                outs += _batched_outputs(model, fixed, group, names, rows)
        if inverse is not None:
            base, outs = base[inverse], [o[inverse] for o in outs]
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
            seed), ``exclude`` (parameter-name prefixes left unperturbed; default the positional embeddings),
            and how they are evaluated, which leaves the directions unchanged: ``chunk`` (perturbations
            per forward pass; None: :func:`perturbation_chunk`) and ``dedup`` (True: token strings that
            occur several times in ``x`` are evaluated once).
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
