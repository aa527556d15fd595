"""V25's one-layer attention classifier of the synthetic sparse-vs-frequent task (V25 §4.1, Eq. 3).

The model is ``Φ(X) = <U, softmax(X W_Q W_K^T X^T) X W_V>`` with ``X`` the ``(T, M)`` one-hot matrix of
a sequence of ``T`` tokens from a vocabulary of ``M``, so ``X W`` is a row lookup. ``U`` has one row per
position (``T x d̃``; the paper prints its shape as ``d̃ x d̃``, but the inner product needs ``T`` rows,
and V25's alignment of the rows of ``U W_V^T`` with token directions needs ``d̃`` columns). The task's
data are in :mod:`replication.tasks.synthetic`.
"""

from __future__ import annotations

import torch
from torch import nn


class AttentionClassifier(nn.Module):
    """V25 Eq. 3 on one-hot tokens: ``Φ(X) = <U, softmax(X W_Q W_K^T X^T) X W_V>``, one real output.

    Inputs are token ids ``(B, T)``; ``X W`` for a one-hot ``X`` is the rows of ``W`` at those ids.
    """

    def __init__(self, M: int, T: int, width: int, init: float):
        super().__init__()
        self.W_Q = nn.Parameter(init * torch.randn(M, width))  # (M, d̃)
        self.W_K = nn.Parameter(init * torch.randn(M, width))  # (M, d̃)
        self.W_V = nn.Parameter(init * torch.randn(M, width))  # (M, d̃)
        self.U = nn.Parameter(init * torch.randn(T, width))  # (T, d̃): the linear head, one row per position

    def attention(self, ids: torch.Tensor) -> torch.Tensor:
        """Softmax scores ``(B, T, T)``: row ``t`` is query position ``t``'s weights over the positions.

        The score of tokens ``i, j`` is entry ``(i, j)`` of the ``(M, M)`` matrix ``W_Q W_K^T``, read off
        by index instead of multiplying ``(B, T, d̃)`` matrices (the same numbers, a fraction of the work).
        """
        bilinear = self.W_Q @ self.W_K.T  # (M, M)
        return torch.softmax(bilinear[ids[:, :, None], ids[:, None, :]], dim=-1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # <U, A X W_V> = sum_{t,s} A_ts (U W_V^T)[t, id_s]: the head's direction of each query position,
        # read at the token of each key position.
        read = self.head_directions()[:, ids].permute(1, 0, 2)  # (B, T, T): query t, key s
        return (self.attention(ids) * read).sum((1, 2))  # (B,)

    def head_directions(self) -> torch.Tensor:
        """Rows of ``U W_V^T`` ``(T, M)``: the token direction each position's output reads."""
        return self.U @ self.W_V.T
