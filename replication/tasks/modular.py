"""Modular addition (V25 §7.3, App. A.5): the train/test split of all pairs and its commutativity baseline.

The task is ``a + b mod p`` written as the three tokens ``a b =`` (numbers ``0..p-1``, ``=`` is token ``p``).
All ``p²`` pairs are shuffled with the run's seed and the first ``int(train_fraction * p²)`` train the
model, full batch; the rest are the test set.
"""

from __future__ import annotations

import torch


def modular_addition_split(p: int, train_fraction: float, seed: int):
    """``(x_train, y_train, x_test, y_test)``: every pair ``(a, b)`` once, shuffled with ``seed``.

    ``x`` is ``(N, 3)`` token ids ``[a, b, p]``, ``y`` is ``(N,)`` with ``(a + b) % p``. The training set
    is the first ``int(train_fraction * p**2)`` pairs of the shuffled list, the test set the rest.
    """
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")  # (p, p) each
    x = torch.stack([a.flatten(), b.flatten(), torch.full((p * p,), p)], dim=1)  # (p², 3)
    y = (x[:, 0] + x[:, 1]) % p  # (p²,)
    perm = torch.randperm(p * p, generator=torch.Generator().manual_seed(seed))  # (p²,)
    n_train = int(train_fraction * p * p)
    tr, te = perm[:n_train], perm[n_train:]
    return x[tr], y[tr], x[te], y[te]


def commutative_baseline(x_train: torch.Tensor, x_test: torch.Tensor, p: int) -> float:
    """Share of test pairs ``(a, b)`` whose swapped twin ``(b, a)`` is a training pair.

    A model that has memorised its training pairs and learnt only that ``a + b = b + a`` is right on
    exactly these test pairs, so test accuracy near this value is not yet generalisation.
    """
    seen = torch.zeros(p, p, dtype=torch.bool)  # seen[a, b]: (a, b) is a training pair
    seen[x_train[:, 0], x_train[:, 1]] = True
    return float(seen[x_test[:, 1], x_test[:, 0]].float().mean()) if len(x_test) else float("nan")
