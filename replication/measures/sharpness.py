"""Sharpness of HR24 §7.1 (Eq. 15) and the original code's ΔMSE: outputs under Gaussian parameter noise."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from ..models.folded import fold_plans, foldable, folded_forward


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
#: a 2-core machine; README, "Performance"). Above it an :class:`HR24Encoder` runs :func:`folded_forward` once
#: per perturbation, another model the module itself. On a GPU every size is batched, in chunks sized to its
#: free memory.
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
    flat = x.reshape(len(x), -1)
    base = int(flat.max()) + 1 if flat.numel() else 1
    if int(flat.min()) >= 0 and flat.shape[1] * math.log2(max(base, 2)) < 62:
        # each row as one integer, its digits in base ``base`` (exact): a sort of B numbers, not of B rows
        digits = base ** torch.arange(flat.shape[1] - 1, -1, -1, device=x.device, dtype=torch.int64)
        keys, inverse = torch.unique((flat.long() * digits).sum(1), return_inverse=True)
        if len(keys) == len(x):
            return x, None
        rows = x.new_empty((len(keys), *x.shape[1:]))
        rows[inverse] = x
        return rows, inverse
    rows, inverse = torch.unique(x, dim=0, return_inverse=True)
    return (x, None) if len(rows) == len(x) else (rows, inverse)


def _bytes_per_token(model: nn.Module) -> int:
    """Rough activation memory of one input position in a forward pass (float32 ``d``-vectors kept alive)."""
    cfg = getattr(model, "cfg", None)
    d = getattr(cfg, "d", None) or max((p.shape[-1] for p in model.parameters() if p.dim() >= 1), default=64)
    n = getattr(cfg, "n", 1)
    heads = getattr(cfg, "heads", 1)
    return 4 * (16 * d + 2 * heads * n)


#: Processes sharing the GPU (set by the sweep runner in each worker): each takes its share of the budget.
GPU_SHARE = 1


def perturbation_chunk(model: nn.Module, x: torch.Tensor, n_perturbations: int) -> int:
    """Perturbations evaluated per forward pass for inputs ``x`` (the distinct ones): 1 means one at a time.

    CPU: batched only when one perturbation's forward is at most :data:`CPU_BATCH_TOKENS` positions, as many
    as fit in :data:`CPU_CHUNK_BYTES`. CUDA: as many as fit in a quarter of the free GPU memory, divided
    among the :data:`GPU_SHARE` processes that share the card.
    """
    tokens = max(1, x.numel() if x.dim() >= 2 else len(x))
    per = tokens * _bytes_per_token(model)
    if x.device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(x.device)
        budget = free // (4 * GPU_SHARE)
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
def _outputs_under_noise(
    model,
    x,
    rho: float = 0.02,
    n_perturbations: int = 20,
    seed: int = 0,
    exclude: Sequence[str] = HR24_EXCLUDE,
    chunk: int | None = None,
    dedup: bool = True,
    fold: bool | None = None,
):
    """``T_θ(x)`` and a list of ``T_{θ+Δ}(x)``, one per Gaussian perturbation (model left unchanged).

    The perturbations are drawn in a fixed order (perturbation by perturbation, parameter by parameter in
    ``named_parameters()`` order, one generator seeded with ``seed``), whatever the evaluation strategy:
    with ``fold`` (None: where :func:`foldable` and the inputs are too many to batch, see
    :func:`perturbation_chunk`) one :func:`folded_forward` per perturbation; otherwise ``chunk``
    perturbations per forward pass (None: :func:`perturbation_chunk`; 1: one at a time with
    ``functional_call``); over the distinct rows of ``x`` when ``dedup`` (outputs put back in place).
    ``chunk=1, dedup=False`` is the plain loop, one forward pass per perturbation over every input.
    """
    _check(rho, n_perturbations)
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"chunk: must be a positive integer or None, got {chunk!r}")
    if fold is not None and not isinstance(fold, bool):
        raise ValueError(f"fold: must be True, False or None, got {fold!r}")
    if fold and chunk is not None:
        raise ValueError(f"chunk: the folded forward evaluates one perturbation at a time, got chunk={chunk!r}")
    was_training = model.training
    model.eval()
    try:
        params, buffers, names = _split(model, exclude)
        rows, inverse = _unique_rows(x) if dedup else (x, None)
        if fold is None:
            fold = (
                chunk is None
                and x.device.type == "cpu"
                and foldable(model, rows)
                and perturbation_chunk(model, rows, n_perturbations) == 1
            )
        elif fold and not foldable(model, rows):
            raise ValueError("fold: the folded forward needs an HR24Encoder of two layers or more and token strings")
        if chunk is None and not fold:
            chunk = perturbation_chunk(model, rows, n_perturbations)
        draws = _perturbations(params, names, rho, n_perturbations, seed)
        outs: list[torch.Tensor] = []
        if fold:
            plans = fold_plans(model.cfg, rows)
            base = folded_forward(params, model.cfg, plans)
            outs = [folded_forward(noisy, model.cfg, plans) for noisy in draws]
        elif chunk == 1:
            base = model(rows)
            outs = [functional_call(model, {**noisy, **buffers}, (rows,)) for noisy in draws]
        else:
            base, fixed = model(rows), {**{k: v for k, v in params.items() if k not in names}, **buffers}
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
            and how they are evaluated, which leaves the directions unchanged: ``fold`` (None: an
            :class:`HR24Encoder` on inputs too many to batch runs :func:`folded_forward`, exact up to
            float32 rounding; False: never), ``chunk`` (perturbations per forward pass; None:
            :func:`perturbation_chunk`) and ``dedup`` (True: token strings that occur several times in
            ``x`` are evaluated once).
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


def sharpness_both(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, rescale: float = 4.0, **noise
) -> dict[str, float]:
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
