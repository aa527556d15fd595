"""The transformer encoder of HR24 §7.1, written out so LayerNorm statistics can be read.

The model is what the original code builds from ``torch.nn.TransformerEncoder``: post-LN layers
(PyTorch's default ``norm_first=False``), ReLU feed-forward, dropout 0, no final norm. Token and
positional embeddings of width ``d/2`` each are *concatenated* (the paper's §2 says added; the code
concatenates). A linear head with bias reads the last position.

Parameter names match ``nn.TransformerEncoderLayer`` (``self_attn.in_proj_weight``, ``linear1``,
``norm1``, ...), so weights copy across with ``load_state_dict``; ``tests/core/models/test_encoder.py`` checks the two
compute the same function.

Every LayerNorm application ``k`` (norm1 and norm2 of each layer) records its normalisation factor
``N_i^(k) = 1 / sqrt(var(Y_i^(k)) + eps)`` (HR24 Eq. 5) per input and position, where ``var`` is the
biased variance LayerNorm itself uses. The original code instead reports ``1 / std`` with the unbiased
estimator and no eps; :func:`ln_factor` offers both (``convention="code"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_shape

#: Names of LayerNorm-factor conventions accepted by :func:`ln_factor`.
LN_CONVENTIONS = ("eq5", "code")


def ln_factor(y: torch.Tensor, eps: float, convention: str = "eq5") -> torch.Tensor:
    """Normalisation factor of a LayerNorm input ``y`` ``(..., d) -> (...)``.

    ``eq5``: ``1/sqrt(var_biased + eps)``, HR24 Eq. 5 and what LayerNorm divides by.
    ``code``: ``1/std_unbiased`` with no eps, the original code's ``1/torch.std``.
    """
    if convention == "eq5":
        return torch.rsqrt(y.var(-1, unbiased=False) + eps)
    if convention == "code":
        return 1.0 / y.std(-1, unbiased=True)
    raise ValueError(f"convention: must be one of {LN_CONVENTIONS}, got {convention!r}")


@dataclass(frozen=True)
class EncoderConfig:
    """Shape of :class:`HR24Encoder`. Defaults are the paper's (HR24 App. E.1)."""

    n: int  # input length (number of positional embeddings)
    d: int = 128  # model width; token and positional embeddings get d/2 each
    layers: int = 2  # number of encoder layers
    heads: int = 2  # attention heads per layer
    d_ff: int | None = None  # feed-forward width; None means d (as in the original code)
    eps: float = 1e-5  # LayerNorm eps (PyTorch default)
    vocab: int = 2  # token alphabet {0, 1}

    def __post_init__(self):
        check_shape(self, ("n", "d", "layers", "heads", "vocab"))

    @property
    def ff(self) -> int:
        return self.d if self.d_ff is None else self.d_ff


class SelfAttention(nn.Module):
    """Multi-head self-attention with ``nn.MultiheadAttention``'s parameter layout."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d, d))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d))
        self.out_proj = nn.Linear(d, d)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def project(self, q_in: torch.Tensor, kv_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values split into heads: ``(B, Tq, d), (B, T, d) -> (B, h, Tq|T, d/h)`` each."""
        B, Tq, d = q_in.shape
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        h, dh = self.heads, d // self.heads
        q = F.linear(q_in, w_q, b_q).view(B, Tq, h, dh).transpose(1, 2)  # (B, h, Tq, dh)
        k = F.linear(kv_in, w_k, b_k).view(B, -1, h, dh).transpose(1, 2)  # (B, h, T, dh)
        v = F.linear(kv_in, w_v, b_v).view(B, -1, h, dh).transpose(1, 2)  # (B, h, T, dh)
        return q, k, v

    def merge(self, out: torch.Tensor) -> torch.Tensor:
        """Heads back together, then the output projection: ``(B, h, Tq, d/h) -> (B, Tq, d)``."""
        B, h, Tq, dh = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(B, Tq, h * dh))

    def forward(self, q_in: torch.Tensor, kv_in: torch.Tensor) -> torch.Tensor:
        # q_in (B, Tq, d), kv_in (B, T, d) -> (B, Tq, d)
        q, k, v = self.project(q_in, kv_in)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)  # (B, h, Tq, T)
        return self.merge(att @ v)


class EncoderLayer(nn.Module):
    """One post-LN encoder layer: ``y = norm1(x + attn(x)); out = norm2(y + ff(y))``."""

    def __init__(self, d: int, heads: int, d_ff: int, eps: float):
        super().__init__()
        self.self_attn = SelfAttention(d, heads)
        self.linear1 = nn.Linear(d, d_ff)
        self.linear2 = nn.Linear(d_ff, d)
        self.norm1 = nn.LayerNorm(d, eps=eps)
        self.norm2 = nn.LayerNorm(d, eps=eps)

    def forward(self, x: torch.Tensor, last_only: bool = False, record: list | None = None) -> torch.Tensor:
        # x (B, T, d) -> (B, T, d), or (B, 1, d) when last_only
        q_in = x[:, -1:] if last_only else x
        y = q_in + self.self_attn(q_in, x)  # Y before norm1
        if record is not None:
            record.append(y)
        y = self.norm1(y)
        z = y + self.linear2(F.relu(self.linear1(y)))  # Y before norm2
        if record is not None:
            record.append(z)
        return self.norm2(z)


class HR24Encoder(nn.Module):
    """The encoder of HR24 §7.1 (see module docstring). ``forward`` maps ``(B, n)`` bits to ``(B,)``."""

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.cfg = cfg
        half = cfg.d // 2
        self.tok_emb = nn.Embedding(cfg.vocab, half)
        self.pos_emb = nn.Embedding(cfg.n, half)
        self.layers = nn.ModuleList(EncoderLayer(cfg.d, cfg.heads, cfg.ff, cfg.eps) for _ in range(cfg.layers))
        self.head = nn.Linear(cfg.d, 1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        # x (B, n) -> (B, n, d): [token embedding | positional embedding]
        B, n = x.shape
        if n != self.cfg.n:
            raise ValueError(f"x: this model was built for n={self.cfg.n}, got strings of length {n}")
        pos = self.pos_emb.weight[None].expand(B, -1, -1)
        return torch.cat([self.tok_emb(x.long()), pos], dim=-1)

    def forward(self, x: torch.Tensor, record: list | None = None) -> torch.Tensor:
        """Prediction ``T(x)`` read at the last position, ``(B, n) -> (B,)``.

        Args:
            x: ``(B, n)`` tokens in {0, 1}.
            record: if a list is given, the input ``Y`` of every LayerNorm application is appended to it
                (``(B, n, d)``, or ``(B, 1, d)`` for the last layer, which computes only the last position:
                nothing else reaches the head, so outputs are unchanged).
        """
        h = self.embed(x)
        last = len(self.layers) - 1
        for k, layer in enumerate(self.layers):
            h = layer(h, last_only=(k == last), record=record)
        return self.head(h[:, -1]).squeeze(-1)

    def ln_factors(self, x: torch.Tensor, convention: str = "eq5") -> list[torch.Tensor]:
        """``N_i^(k)(x)`` (HR24 Eq. 5) for each LayerNorm application ``k``: list of ``(B, T_k)`` tensors.

        Order: layer 1 norm1, layer 1 norm2, layer 2 norm1, ... The last layer's two entries have
        ``T_k = 1`` (the last position, the only one read).
        """
        rec: list[torch.Tensor] = []
        self.forward(x, record=rec)
        return [ln_factor(y, self.cfg.eps, convention) for y in rec]

    def blowup(self, x: torch.Tensor, convention: str = "eq5", plus_one: bool = False) -> torch.Tensor:
        """``Blowup(x)`` per input, ``(B, n) -> (B,)``.

        The §7.1 convention (default): product over LayerNorm applications of the max over positions of
        ``N_i^(k)``. ``plus_one=True`` gives Eq. 11's ``prod_k max_i (1 + N_i^(k))``.
        """
        out = torch.ones(x.shape[0], dtype=torch.float32, device=x.device)
        for f in self.ln_factors(x, convention):
            out = out * ((1 + f) if plus_one else f).amax(-1)
        return out

    def named_core_parameters(self):
        """Parameters counted by HR24 for sharpness and parameter norm: all but positional embeddings."""
        return [(k, p) for k, p in self.named_parameters() if not k.startswith("pos_emb")]


def to_torch_encoder(model: HR24Encoder) -> nn.TransformerEncoder:
    """A ``torch.nn.TransformerEncoder`` with the same layer weights (for reference checks)."""
    c = model.cfg
    layer = nn.TransformerEncoderLayer(
        c.d, c.heads, dim_feedforward=c.ff, dropout=0.0, batch_first=True, layer_norm_eps=c.eps
    )
    ref = nn.TransformerEncoder(layer, c.layers, enable_nested_tensor=False)
    ref.load_state_dict({k: v for k, v in model.state_dict().items() if k.startswith("layers.")})
    return ref.eval()
