"""Fourier analysis of Boolean functions (HR24 §3, Eq. 17): Walsh–Hadamard spectra and degree profiles."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..tasks.boolean import BoolFn
from .sensitivity import truth_table


def walsh_hadamard(table: torch.Tensor, pm_scale: bool = True) -> torch.Tensor:
    """Fourier–Walsh coefficients ``λ_P`` of a function given by its truth table (HR24 §6).

    ``f(x) = sum_P λ_P χ_P(x)`` with ``χ_P(x) = prod_{i in P} x_i`` on ±1 inputs (bit 1 -> +1, bit 0 -> -1).
    Entry ``m`` of the result is the coefficient of the set ``P`` whose members are the set bits of
    ``m`` (bit ``n-1-i`` of ``m`` stands for position ``i``). Fast transform, ``O(n 2^n)``.
    """
    v = torch.as_tensor(table, dtype=torch.float64).flatten().clone()
    if pm_scale:
        v = 2 * v - 1
    n = int(round(math.log2(v.numel())))
    # Bit value b in {0,1} maps to ±1 as (2b - 1); χ_P(x) = prod (2 b_i - 1) = (-1)^{|P| - |P∩x|}.
    # The Hadamard transform with +1 for "bit 0" gives sum_x f(x) (-1)^{|P ∩ x|}; fix the sign below.
    h = 1
    while h < v.numel():
        v = v.view(-1, 2, h)
        v = torch.stack([v[:, 0] + v[:, 1], v[:, 0] - v[:, 1]], dim=1).view(-1)
        h *= 2
    coeffs = v / 2**n
    sizes = popcount(torch.arange(2**n))
    return coeffs * torch.where(sizes % 2 == 1, -1.0, 1.0).to(torch.float64)


def popcount(m: torch.Tensor) -> torch.Tensor:
    """Number of set bits of each integer in ``m``."""
    m = m.clone().long()
    c = torch.zeros_like(m)
    while bool((m > 0).any()):
        c += m & 1
        m >>= 1
    return c


def degree_profile(name_or_fn: str | BoolFn | torch.Tensor, n: int | None = None, pm_scale: bool = True) -> np.ndarray:
    """Degree profile ``(d_0, ..., d_n)``, ``d_i = sum_{|P|=i} λ_P^2`` (Abbe et al. 2023; HR24 §6).

    ``pm_scale=False`` takes a real-valued table as it is, without the {0,1} -> ±1 map.
    """
    table = name_or_fn if isinstance(name_or_fn, torch.Tensor) else truth_table(name_or_fn, n)
    lam = walsh_hadamard(table, pm_scale=pm_scale)
    n = int(round(math.log2(lam.numel())))
    sizes = popcount(torch.arange(2**n))
    prof = torch.zeros(n + 1, dtype=torch.float64).index_add_(0, sizes, lam**2)
    return prof.numpy()


def sensitivity_from_spectrum(name_or_fn: str | BoolFn | torch.Tensor, n: int | None = None) -> float:
    """Right-hand side of HR24 Eq. 17: ``sum_P |P| λ_P^2 = sum_i i d_i``."""
    prof = degree_profile(name_or_fn, n)
    return float((np.arange(len(prof)) * prof).sum())
