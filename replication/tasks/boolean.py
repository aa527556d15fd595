"""Boolean functions on the cube and the samplers of strings the chapters train and evaluate on.

Their exact average sensitivity is in :mod:`replication.measures.sensitivity`, their Fourier spectra in
:mod:`replication.measures.fourier`.

Conventions
-----------
Inputs are ``(batch, n)`` tensors of {0, 1} bits (the models read bit ``b`` as token ``b``).
The four functions studied by HR24 (§3) are implemented, as in the original code, with outputs in
{0, 1} (PARITY, FIRST, MAJORITY) or in [0, 1] (MEAN, the fraction of ones). The theory is stated for
outputs in {-1, +1}; the map ``g = 2 f - 1`` takes one to the other. All sensitivities and Fourier
quantities here are reported on the theory's ±1 scale, so that PARITY has ``as_n = n`` and FIRST has
``as_n = 1`` whichever output convention is used (HR24 Eq. 6 for ``g`` equals
``sum_i E[(f(x) - f(x^{⊕i}))^2]`` for ``f``).

Bit ``x_i = 1`` corresponds to the theory's ``+1``. Under that map HR24's PARITY (``prod_i x_i`` on ±1
inputs) is 1 on strings with an even number of *zeros*; here ``parity`` is the XOR of the bits (1 on an
odd number of ones), as in the original code. The two differ by a sign and relabelling only, which
leaves every sensitivity and every ``|λ_P|`` unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch


BoolFn = Callable[[torch.Tensor], torch.Tensor]


#: Largest n for which functions here enumerate the whole cube (2^22 ≈ 4M strings).
MAX_EXACT_N = 22


def _dtype(x: torch.Tensor) -> torch.dtype:
    """Outputs are float32 for integer inputs and keep the dtype of floating inputs (exact tables)."""
    return x.dtype if x.is_floating_point() else torch.float32


def parity(x: torch.Tensor) -> torch.Tensor:
    """XOR of all bits: 1 when the number of ones is odd. ``(B, n) -> (B,)`` in {0, 1}."""
    return (x.sum(-1) % 2).to(_dtype(x))


def majority(x: torch.Tensor) -> torch.Tensor:
    """1 when strictly more than half the bits are ones; ties go to 0 (HR24 §3; the original code does the same)."""
    n = x.shape[-1]
    return (2 * x.sum(-1) > n).to(_dtype(x))


def first(x: torch.Tensor) -> torch.Tensor:
    """The first bit."""
    return x[..., 0].to(_dtype(x))


def mean(x: torch.Tensor) -> torch.Tensor:
    """Fraction of ones, real-valued in [0, 1] (HR24's MEAN on the {0, 1} scale)."""
    return x.to(_dtype(x)).mean(-1)


#: The four functions of HR24 §3, by name.
FUNCTIONS: dict[str, BoolFn] = {"parity": parity, "majority": majority, "first": first, "mean": mean}


def sparse_parity(support: tuple[int, ...]) -> BoolFn:
    """k-sparse parity: XOR of the bits at the 0-based positions in ``support`` (V25 App. A.6)."""
    idx = torch.as_tensor(list(support), dtype=torch.long)
    if len(idx) == 0:
        raise ValueError("support: a sparse parity needs at least one position, got ()")

    def fn(x: torch.Tensor) -> torch.Tensor:
        return (x[..., idx].sum(-1) % 2).to(_dtype(x))

    fn.__name__ = f"sparse_parity{tuple(support)}"
    return fn


def random_function(n: int, seed: int = 0) -> BoolFn:
    """A uniformly random Boolean function {0,1}^n -> {0,1}, fixed by ``seed`` (a lookup table)."""
    _check_n(n, "n")
    g = torch.Generator().manual_seed(seed)
    table = torch.randint(0, 2, (2**n,), generator=g).to(torch.float32)
    return table_function(table)


def random_table(n: int, seed: int = 0) -> torch.Tensor:
    """The truth table of :func:`random_function` ``(n, seed)``, ``(2^n,)`` float64 in {0, 1}, in
    :func:`all_strings` order (the same draw, without going through the function)."""
    _check_n(n, "n")
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (2**n,), generator=g).to(torch.float64)


def table_function(table: torch.Tensor) -> BoolFn:
    """Wrap a length-``2^n`` table (indexed by the string read as a big-endian binary number)."""
    table = torch.as_tensor(table, dtype=torch.float32).flatten()
    n = int(round(math.log2(table.numel())))
    if 2**n != table.numel():
        raise ValueError(f"table: length must be a power of two, got {table.numel()}")
    weights = 2 ** torch.arange(n - 1, -1, -1)

    def fn(x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != n:
            raise ValueError(f"x: this function takes strings of length {n}, got {x.shape[-1]}")
        return table.to(device=x.device, dtype=_dtype(x))[(x.long() * weights.to(x.device)).sum(-1)]

    fn.__name__ = "table_function"
    return fn


def resolve(name_or_fn: str | BoolFn) -> BoolFn:
    """Look up a function by name (see :data:`FUNCTIONS`) or pass a callable through."""
    if callable(name_or_fn):
        return name_or_fn
    if name_or_fn not in FUNCTIONS:
        raise ValueError(f"function: unknown name {name_or_fn!r}; allowed: {sorted(FUNCTIONS)} or a callable")
    return FUNCTIONS[name_or_fn]


def _check_n(n, name="n", hi=MAX_EXACT_N):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= hi:
        raise ValueError(f"{name}: must be an integer in [1, {hi}] for exact enumeration, got {n!r}")


def all_strings(n: int) -> torch.Tensor:
    """Every string of {0,1}^n, ``(2^n, n)`` uint8, row ``k`` is ``k`` in big-endian binary."""
    _check_n(n)
    k = torch.arange(2**n)
    shifts = torch.arange(n - 1, -1, -1)
    return ((k[:, None] >> shifts) & 1).to(torch.uint8)


def random_strings(batch: int, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """``(batch, n)`` uniform {0,1} strings as ``long`` token ids."""
    return torch.randint(0, 2, (batch, n), generator=generator, device=device)


def flip_each_bit(x: torch.Tensor) -> torch.Tensor:
    """``(B, n, n)`` neighbours of ``(B, n)`` strings: row ``i`` is ``x`` with bit ``i`` flipped (``x^{⊕i}``)."""
    B, n = x.shape
    flips = x[:, None, :].repeat(1, n, 1)
    idx = torch.arange(n, device=x.device)
    flips[:, idx, idx] = 1 - flips[:, idx, idx]
    return flips


def eval_strings(n: int, size: int) -> torch.Tensor:
    """The fixed evaluation set at length ``n``: ``(size, n)`` uniform strings, the same for every run."""
    return random_strings(size, n, generator=torch.Generator().manual_seed(90_001 + n))


def strings_with_ones(counts: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """``(len(counts), n)`` strings, row ``j`` with ``counts[j]`` ones at uniformly random positions."""
    ranks = torch.rand(len(counts), n, generator=generator).argsort(-1).argsort(-1)  # random permutation
    return (ranks < counts[:, None]).long()


def balanced_counts(n: int) -> np.ndarray:
    """Numbers of ones ``k`` of *balanced* strings: those where MAJORITY is sensitive to some bit.

    Flipping one bit changes MAJORITY (ties → 0) only when ``k ∈ {⌊n/2⌋, ⌊n/2⌋ + 1}``: for even ``n``
    that is ``{n/2, n/2 + 1}`` (at ``k = n/2 − 1`` no flip reaches a strict majority), for odd ``n``
    ``{(n−1)/2, (n+1)/2}``.
    """
    return np.array([n // 2, n // 2 + 1])


def balance_sets(n: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Uniform samples of *balanced* strings (:func:`balanced_counts`) and *unbalanced* ones
    (``|k − n/2| ≥ max(n/4, 2)``), ``k`` being the number of ones.

    Each set is the uniform distribution on the cube conditioned on the set: ``k`` is drawn from the
    binomial weights restricted to the allowed counts, then its positions uniformly. No rejection
    sampling, so it is as cheap at n = 512 as at n = 8.
    """
    g = torch.Generator().manual_seed(70_003 + 31 * n + seed)
    k = np.arange(n + 1)
    logw = np.array([math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1) for j in k])
    out = []
    for allowed in (np.isin(k, balanced_counts(n)), np.abs(k - n / 2) >= max(n / 4, 2)):
        w = np.where(allowed, np.exp(logw - logw[allowed].max()), 0.0)
        counts = torch.multinomial(torch.tensor(w / w.sum()), size, replacement=True, generator=g)
        out.append(strings_with_ones(counts, n, g))
    return out[0], out[1]


def scratchpad_step(n: int, i: int) -> BoolFn:
    """Step ``i`` of PARITY with a scratchpad (HR24 §6 Thm 7, §7.2), as a Boolean function.

    At step ``i`` (1..n) the decoder sees the ``n`` input bits and the scratchpad ``t_1..t_{i-1}`` written
    so far, and emits ``t_i = x_i XOR t_{i-1}`` (``t_0 = 0``). The function takes ``(B, n + i - 1)`` strings
    ``[x_1..x_n, t_1..t_{i-1}]``, any scratchpad included (the cube of Thm 7's proof, not only the
    consistent ones), and returns ``(B,)`` in {0, 1}. It reads two bits (``x_i`` and ``t_{i-1}``; only
    ``x_1`` at step 1), so its average sensitivity is 2 (1 at step 1) whatever ``n``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: must be a positive integer, got {n!r}")
    if isinstance(i, bool) or not isinstance(i, int) or not 1 <= i <= n:
        raise ValueError(f"i: must be a step in [1, {n}], got {i!r}")

    def fn(x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != n + i - 1:
            raise ValueError(f"x: step {i} of n={n} reads {n + i - 1} bits, got {x.shape[-1]}")
        prev = x[..., n + i - 2] if i > 1 else torch.zeros_like(x[..., 0])
        return ((x[..., i - 1] + prev) % 2).to(_dtype(x))

    fn.__name__ = f"scratchpad_step(n={n}, i={i})"
    return fn
