"""The encoder–decoder of HR24 §7.2 (Fig. 11): PARITY with a scratchpad of prefix parities.

The model is what ``torch.nn.Transformer`` builds (Vaswani et al. 2017, as PyTorch implements it):
post-LN layers (``norm_first=False``), ReLU feed-forward, dropout 0, and a final LayerNorm after the
encoder stack and after the decoder stack. The encoder reads the bits ``x_1..x_n``; the decoder reads
the scratchpad ``[START, t_1, ..., t_{m-1}]`` under a causal mask and predicts ``t_1..t_m``, where
``t_i = x_i XOR t_{i-1}`` with ``t_0 = 0`` (HR24 §7.2), so ``t_n`` is PARITY(x). A linear head with
bias maps each decoder position to one real number, trained with MSE on the {0, 1} targets as in HR24
§7.1.

Embeddings follow the HR24 encoder of :mod:`replication.models` (and the original code): a token
embedding and a learned positional embedding of width ``d/2`` each, *concatenated*; the source (bits)
and target (scratchpad tokens 0, 1, START) sides have their own. All embeddings live under
``tok_emb`` / ``pos_emb``, so the positional ones are left out of sharpness by
:data:`replication.measures.sharpness.HR24_EXCLUDE`, as in HR24 §7.1.

Parameter names below ``encoder.`` and ``decoder.`` match ``nn.Transformer``'s, so weights copy across
with ``load_state_dict``; ``tests/core/models/test_seq2seq.py`` checks the two compute the same function.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .encoder import EncoderLayer, SelfAttention
from ..checks import check_shape

#: Scratchpad token that starts every decoder input (the bits are 0 and 1).
START = 2


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Shape of :class:`ScratchpadTransformer`. Defaults are HR24's for the scratchpad (App. E.1)."""

    n: int  # input length; the scratchpad has n positions too
    d: int = 32  # model width; token and positional embeddings get d/2 each
    enc_layers: int = 2  # encoder layers
    dec_layers: int = 2  # decoder layers
    heads: int = 2  # attention heads per attention block
    d_ff: int | None = None  # feed-forward width; None means d (as the HR24 encoder's code)
    eps: float = 1e-5  # LayerNorm eps (PyTorch default)

    def __post_init__(self):
        check_shape(self, ("n", "d", "enc_layers", "dec_layers", "heads"))

    @property
    def ff(self) -> int:
        return self.d if self.d_ff is None else self.d_ff


def prefix_parities(x: torch.Tensor) -> torch.Tensor:
    """The scratchpad ``t_i = x_i XOR t_{i-1}``, ``t_0 = 0`` (HR24 §7.2): ``(B, n) -> (B, n)`` in {0, 1}."""
    return (x.long().cumsum(-1) % 2).to(x.dtype)


def decoder_input(t: torch.Tensor) -> torch.Tensor:
    """Teacher forcing: ``[START, t_1, ..., t_{m-1}]`` from the scratchpad ``t`` ``(B, m) -> (B, m)``, long."""
    start = torch.full_like(t[:, :1], START, dtype=torch.long)
    return torch.cat([start, t[:, :-1].long()], dim=1)


class Attention(SelfAttention):
    """:class:`replication.models.encoder.SelfAttention` with an optional causal mask (fused attention)."""

    def forward(self, q_in: torch.Tensor, kv_in: torch.Tensor, causal: bool = False) -> torch.Tensor:
        # q_in (B, Tq, d), kv_in (B, T, d) -> (B, Tq, d); causal: query i sees keys 0..i (Tq == T)
        q, k, v = self.project(q_in, kv_in)  # (B, h, Tq|T, dh)
        # softmax(q kᵀ / sqrt(dh)) v per head (Vaswani et al. 2017, Eq. 1), with -inf above the diagonal when causal
        return self.merge(F.scaled_dot_product_attention(q, k, v, is_causal=causal))


class DecoderLayer(nn.Module):
    """One post-LN decoder layer (``nn.TransformerDecoderLayer``, ``norm_first=False``):
    ``y = norm1(x + self_attn(x)); z = norm2(y + cross_attn(y, memory)); out = norm3(z + ff(z))``."""

    def __init__(self, d: int, heads: int, d_ff: int, eps: float):
        super().__init__()
        self.self_attn = Attention(d, heads)
        self.multihead_attn = Attention(d, heads)
        self.linear1 = nn.Linear(d, d_ff)
        self.linear2 = nn.Linear(d_ff, d)
        self.norm1 = nn.LayerNorm(d, eps=eps)
        self.norm2 = nn.LayerNorm(d, eps=eps)
        self.norm3 = nn.LayerNorm(d, eps=eps)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        # x (B, m, d), memory (B, n, d) -> (B, m, d)
        y = self.norm1(x + self.self_attn(x, x, causal=True))
        z = self.norm2(y + self.multihead_attn(y, memory))
        return self.norm3(z + self.linear2(F.relu(self.linear1(z))))


class Stack(nn.Module):
    """Layers then a final LayerNorm: ``nn.TransformerEncoder`` / ``nn.TransformerDecoder`` with ``norm``."""

    def __init__(self, layers: list[nn.Module], d: int, eps: float):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(d, eps=eps)


class ScratchpadTransformer(nn.Module):
    """Encoder–decoder for PARITY with a scratchpad (module docstring). ``forward``: ``(B, n) -> (B, m)``."""

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.cfg = cfg
        half = cfg.d // 2
        self.tok_emb = nn.ModuleDict({"src": nn.Embedding(2, half), "tgt": nn.Embedding(3, half)})
        self.pos_emb = nn.ModuleDict({"src": nn.Embedding(cfg.n, half), "tgt": nn.Embedding(cfg.n, half)})
        self.encoder = Stack(
            [EncoderLayer(cfg.d, cfg.heads, cfg.ff, cfg.eps) for _ in range(cfg.enc_layers)], cfg.d, cfg.eps
        )
        self.decoder = Stack(
            [DecoderLayer(cfg.d, cfg.heads, cfg.ff, cfg.eps) for _ in range(cfg.dec_layers)], cfg.d, cfg.eps
        )
        self.head = nn.Linear(cfg.d, 1)

    def _embed(self, side: str, tokens: torch.Tensor) -> torch.Tensor:
        # tokens (B, T) -> (B, T, d): [token embedding | positional embedding]
        B, T = tokens.shape
        pos = self.pos_emb[side].weight[:T][None].expand(B, -1, -1)
        return torch.cat([self.tok_emb[side](tokens.long()), pos], dim=-1)

    def embed_source(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder input ``(B, n) -> (B, n, d)``."""
        if x.shape[1] != self.cfg.n:
            raise ValueError(f"x: this model was built for n={self.cfg.n}, got strings of length {x.shape[1]}")
        return self._embed("src", x)

    def embed_target(self, y_in: torch.Tensor) -> torch.Tensor:
        """Decoder input ``(B, m) -> (B, m, d)``, ``m <= n``."""
        if not 1 <= y_in.shape[1] <= self.cfg.n:
            raise ValueError(f"y_in: the scratchpad takes 1..{self.cfg.n} tokens, got {y_in.shape[1]}")
        return self._embed("tgt", y_in)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Memory ``(B, n) -> (B, n, d)``: the encoder stack and its final norm."""
        h = self.embed_source(x)
        for layer in self.encoder.layers:
            h = layer(h)
        return self.encoder.norm(h)

    def decode(self, memory: torch.Tensor, y_in: torch.Tensor) -> torch.Tensor:
        """Outputs ``(B, m)`` for decoder input ``y_in`` ``(B, m)`` given ``memory`` ``(B, n, d)``."""
        h = self.embed_target(y_in)
        for layer in self.decoder.layers:
            h = layer(h, memory)
        return self.head(self.decoder.norm(h)).squeeze(-1)

    def forward(self, x: torch.Tensor, y_in: torch.Tensor | None = None) -> torch.Tensor:
        """Decoder outputs ``(B, m)``; with ``y_in=None``, teacher-forced on the true scratchpad (``m = n``).

        Args:
            x: ``(B, n)`` bits.
            y_in: ``(B, m)`` decoder tokens starting with :data:`START`; None: ``decoder_input(prefix_parities(x))``,
                so output ``i`` is the model's prediction of ``t_{i+1}`` given the true ``t_1..t_i``.
        """
        if y_in is None:
            y_in = decoder_input(prefix_parities(x))
        return self.decode(self.encode(x), y_in)

    @torch.no_grad()
    def generate(self, x: torch.Tensor) -> torch.Tensor:
        """Greedy autoregressive decoding: each step feeds back the rounded output, ``(B, n) -> (B, n)`` in {0, 1}.

        Step ``i`` runs the decoder on ``[START, t̂_1, ..., t̂_{i-1}]`` and rounds its last output
        (threshold 0.5); the encoder runs once.
        """
        memory = self.encode(x)
        y_in = torch.full((x.shape[0], 1), START, dtype=torch.long, device=x.device)
        for _ in range(self.cfg.n):
            t_i = (self.decode(memory, y_in)[:, -1] > 0.5).long()
            y_in = torch.cat([y_in, t_i[:, None]], dim=1)
        return y_in[:, 1:]


def to_torch_transformer(model: ScratchpadTransformer) -> nn.Transformer:
    """A ``torch.nn.Transformer`` with the same encoder and decoder weights (for reference checks)."""
    c = model.cfg
    with warnings.catch_warnings():  # nn.Transformer's note that an odd head count disables nested tensors
        warnings.simplefilter("ignore", UserWarning)
        ref = nn.Transformer(
            d_model=c.d,
            nhead=c.heads,
            num_encoder_layers=c.enc_layers,
            num_decoder_layers=c.dec_layers,
            dim_feedforward=c.ff,
            dropout=0.0,
            layer_norm_eps=c.eps,
            batch_first=True,
        )
    ref.load_state_dict({k: v for k, v in model.state_dict().items() if k.startswith(("encoder.", "decoder."))})
    return ref.eval()
