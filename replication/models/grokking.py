"""Modular addition for grokking (V25 §7.3, App. A.5): the data split, the one-layer model, its sensitivity.

The task is ``a + b mod p`` written as the three tokens ``a b =`` (numbers ``0..p-1``, ``=`` is token ``p``).
All ``p²`` pairs are shuffled with the run's seed and the first ``int(train_fraction * p²)`` train the
model, full batch; the rest are the test set.

The model is the one of V25's released grokking code: token embedding plus a learned positional
embedding (zero at initialisation), one 4-head self-attention layer, then a ReLU MLP, with **no residual
connections and no LayerNorm**, and a linear read-out at the ``=`` position over the ``p + 1`` tokens.
Because nothing but the ``=`` position reaches the read-out, the attention's query and the MLP are
computed there only (``all_positions=False``, the default); that gives the same logits as computing
every position (``all_positions=True``, what the original code does) and trains 2–3× faster.

*Sensitivity* (V25 §7.3) is the fraction of training inputs whose predicted token changes when Gaussian
noise ``N(0, σ²)``, σ = 0.1, is added to the embeddings (token + position) of the two numbers, as in the
released code (one draw per input; ``draws > 1`` averages several independent draws).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .encoder import SelfAttention


class GrokkingTransformer(nn.Module):
    """V25 §7.3's one-layer transformer without residuals or LayerNorm; ``(B, 3)`` tokens -> ``(B, p + 1)`` logits."""

    def __init__(self, p: int, d: int = 128, heads: int = 4, d_ff: int = 512):
        super().__init__()
        if d % heads:
            raise ValueError(f"heads: must divide d={d}, got {heads}")
        self.p = p
        self.tok_emb = nn.Embedding(p + 1, d)  # numbers 0..p-1 and "=" (id p); N(0, 1) init
        self.pos_emb = nn.Parameter(torch.zeros(3, d))  # learned, zero at init (as in the released code)
        self.attn = SelfAttention(d, heads)  # nn.MultiheadAttention's layout and initialisation
        self.fc1 = nn.Linear(d, d_ff)
        self.fc2 = nn.Linear(d_ff, d)
        self.unembed = nn.Linear(d, p + 1)  # logits over the whole vocabulary, as in the released code

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        # x (B, 3) -> (B, 3, d)
        return self.tok_emb(x) + self.pos_emb

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None, all_positions: bool = False) -> torch.Tensor:
        """Logits at ``=``; ``noise`` ``(B, 2, d)`` is added to the two number embeddings."""
        h = self.embed(x)  # (B, 3, d)
        if noise is not None:
            h = h + F.pad(noise, (0, 0, 0, 1))  # (B, 3, d): nothing added at "="
        q_in = h if all_positions else h[:, -1:]  # (B, 3, d) or (B, 1, d)
        z = self.attn(q_in, h)  # (B, 3 | 1, d): no residual
        z = self.fc2(F.relu(self.fc1(z)))  # (B, 3 | 1, d): no residual, no LayerNorm
        return self.unembed(z[:, -1])  # (B, p + 1)
