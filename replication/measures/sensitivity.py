"""Exact average sensitivity of Boolean functions (HR24 Eq. 6) and of trained models over the whole cube.

Conventions (±1 scale, bit 1 as the theory's +1) are those of :mod:`replication.tasks.boolean`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..tasks.boolean import BoolFn, _check_n, all_strings, flip_each_bit, resolve


def truth_table(name_or_fn: str | BoolFn, n: int, batch: int = 1 << 16) -> torch.Tensor:
    """Values of ``f`` on every string of length ``n``, in :func:`all_strings` order, ``(2^n,)``."""
    fn = resolve(name_or_fn)
    x = all_strings(n).to(torch.float64)
    return torch.cat([fn(x[i : i + batch]).to(torch.float64).cpu() for i in range(0, len(x), batch)])


def sensitivity_from_table(table: torch.Tensor, pm_scale: bool = True) -> torch.Tensor:
    """Per-input sensitivity ``s(x, f)`` (HR24 Eq. 6) from a truth table, ``(2^n,)``.

    With ``pm_scale`` the table is taken to be on the {0,1} scale and converted to ±1, so
    ``s(x, f) = sum_i (f(x) - f(x^{⊕i}))^2``; otherwise Eq. 6's ``1/4 sum_i |f(x) - f(x^{⊕i})|^2``
    is applied to the values as given.
    """
    table = torch.as_tensor(table, dtype=torch.float64).flatten()
    n = int(round(math.log2(table.numel())))
    idx = torch.arange(2**n)
    s = torch.zeros_like(table)
    for i in range(n):  # flipping bit i (position i from the left) toggles bit (n-1-i) of the index
        s += (table - table[idx ^ (1 << (n - 1 - i))]) ** 2
    return s if pm_scale else s / 4


def average_sensitivity(name_or_fn: str | BoolFn | torch.Tensor, n: int | None = None) -> float:
    """Exact average sensitivity ``as_n(f)`` (HR24 Eq. 7) on the ±1 scale, by enumerating the cube.

    Args:
        name_or_fn: a name in :data:`FUNCTIONS`, a callable on ``(B, n)`` {0,1} tensors with outputs on
            the {0,1} scale, or a truth table of length ``2^n``.
        n: input length (1..22); inferred from a truth table.
    """
    if isinstance(name_or_fn, torch.Tensor):
        table = name_or_fn
    else:
        _check_n(n)
        table = truth_table(name_or_fn, n)
    return float(sensitivity_from_table(table).mean())


def closed_form_sensitivity(name: str, n: int) -> float:
    """Closed forms of ``as_n`` (±1 scale) for the four functions (HR24 §3; O'Donnell 2014 Ex. 2.22).

    PARITY: n. FIRST: 1. MEAN: 1/n. MAJORITY (ties -> 0): a bit is pivotal exactly when the other
    n-1 bits hold ⌊n/2⌋ ones, so ``as_n = n * C(n-1, ⌊n/2⌋) / 2^(n-1)`` for odd and even n alike
    (≈ sqrt(2n/π) for large n).
    """
    if name == "parity":
        return float(n)
    if name == "first":
        return 1.0
    if name == "mean":
        return 1.0 / n
    if name == "majority":
        return n * math.comb(n - 1, n // 2) / 2 ** (n - 1)
    raise ValueError(f"name: no closed form for {name!r}; allowed: parity, majority, first, mean")


@torch.no_grad()
def model_sensitivity(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Per-string sensitivity of a model, ``s(T, x) = Σ_i (T(x) − T(x^{⊕i}))²`` (HR24 Eq. 6, ±1 scale).

    For outputs on the {0,1} scale this is Eq. 6 of ``g = 2T − 1`` (``¼ Σ (g(x) − g(x^{⊕i}))²``), the
    convention of this module: a model computing PARITY exactly has ``s(T, x) = n``; its mean over
    uniform ``x`` estimates ``as_n(T)``.

    Args:
        model: maps ``(B, n)`` strings to ``(B,)`` outputs.
        x: ``(B, n)`` strings. Returns ``(B,)``.
    """
    B, n = x.shape
    base = model(x)  # (B,)
    nb = model(flip_each_bit(x).reshape(B * n, n)).reshape(B, n)  # (B, n)
    return ((nb - base[:, None]) ** 2).sum(-1)


#: Memory the activations of one batch of cube strings may take (bytes), for :func:`cube_batch`.
CUBE_BATCH_BYTES = 256 * 2**20


def cube_batch(n: int, model: Callable | None = None, budget: int = CUBE_BATCH_BYTES) -> int:
    """Strings per forward pass when enumerating ``{0,1}^n``, so one batch's activations fit in ``budget``.

    The estimate is per string ``n`` positions of float32 ``d``-vectors (about 16 alive at once, ``d`` from
    ``model.cfg.d``, else 128) plus the ``heads × n × n`` attention weights. A power of two, at least 1,
    at most ``2^n``.
    """
    _check_n(n)
    cfg = getattr(model, "cfg", None)
    d, heads = getattr(cfg, "d", 128), getattr(cfg, "heads", 2)
    per_string = 4 * n * (16 * d + 2 * heads * n)
    batch = max(1, budget // per_string)
    return int(min(2**n, 1 << (batch.bit_length() - 1)))


def cube_strings(n: int, start: int, stop: int, device=None) -> torch.Tensor:
    """Strings ``start..stop-1`` of :func:`all_strings` order as ``(stop - start, n)`` ``long`` token ids."""
    k = torch.arange(start, stop, device=device)
    shifts = torch.arange(n - 1, -1, -1, device=device)
    return (k[:, None] >> shifts) & 1


@torch.no_grad()
def model_table(
    model: Callable[[torch.Tensor], torch.Tensor], n: int, batch: int | None = None, device=None
) -> torch.Tensor:
    """A model's outputs on every string of ``{0,1}^n``, in :func:`all_strings` order, ``(2^n,)`` float64.

    The cube is enumerated ``batch`` strings at a time (None: :func:`cube_batch`, sized to memory), each
    batch built on ``device`` (None: the device of the model's parameters, else the CPU), so the whole
    cube is never held as one input. Each string goes through the model once.
    """
    _check_n(n)
    if device is None:
        p = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
        device = p.device if p is not None else "cpu"
    batch = cube_batch(n, model) if batch is None else batch
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch: must be a positive integer or None, got {batch!r}")
    return torch.cat(
        [model(cube_strings(n, i, min(i + batch, 2**n), device)).to(torch.float64).cpu() for i in range(0, 2**n, batch)]
    )


def model_average_sensitivity(
    model: Callable[[torch.Tensor], torch.Tensor], n: int, batch: int | None = None, device=None
) -> float:
    """Exact ``as_n(T)`` of a model over the whole cube (±1 scale, as :func:`model_sensitivity`).

    One forward pass per string (:func:`model_table`), then :func:`sensitivity_from_table`: ``2^n``
    model evaluations instead of the ``2^n (n + 1)`` of :func:`model_sensitivity` on every string and its
    ``n`` neighbours, with the same value.
    """
    return float(sensitivity_from_table(model_table(model, n, batch, device)).mean())
