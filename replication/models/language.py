"""Sentence-pair classifiers over token ids for V25 §6: a RoBERTa-style encoder and an LSTM, in plain torch.

Both split into :meth:`embed` (token ids -> the LayerNorm-ed token embeddings that V25 §6 perturb) and
:meth:`classify` (embeddings -> logits), so that the sensitivity measure can add noise in between;
``model(ids, lengths) == model.classify(model.embed(ids), lengths)``, and ``embed(ids) == norm(raw(ids))``
(:meth:`raw`: the embeddings before the LayerNorm ``norm``, for noise put on before it).

* :class:`Encoder` (RoBERTa's layout): token plus learned positional embedding, LayerNorm, dropout; post-LN
  blocks (attention, residual, LayerNorm; GELU feed-forward, residual, LayerNorm) with padded keys masked;
  the classification head (dense, tanh, dense) reads ``<s>``, position 0. ``attention="softmax"`` is
  RoBERTa's; ``attention="relu"`` puts ReLU in place of the softmax (V25 §6) and divides by the number of
  unpadded keys, so that the sum over keys has the scale of an average whatever the length.
* :class:`LSTMClassifier`: token embedding (no positions: the recurrence orders the tokens), LayerNorm,
  dropout, a unidirectional ``nn.LSTM`` of the same depth, the same head on the output at the last token
  (``</s>``), or (``head="linear"``, V25's released LSTM) one linear layer on it.

:func:`trained_parameters` picks what the optimiser updates: every parameter, or (``trains="lstm"``, V25's
released LSTM script) the ``nn.LSTM`` module's alone, the embedding, its LayerNorm and the head left at their
initialisation.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

ATTENTIONS = ("softmax", "relu")
#: The three models of V25 §6: name -> (class, attention).
LANGUAGE_MODELS = ("lstm", "softmax", "relu")
#: The LSTM's heads: RoBERTa's (dense, tanh, dense) or one linear layer (V25's released LSTM).
HEADS = ("dense", "linear")
#: What the optimiser updates: every parameter, or the ``nn.LSTM`` module's only (V25's released LSTM script).
TRAINS = ("all", "lstm")


class Head(nn.Module):
    """RoBERTa's classification head: dense, tanh, dropout, dense to the classes."""

    def __init__(self, d: int, classes: int, dropout: float):
        super().__init__()
        self.dense, self.drop, self.out = nn.Linear(d, d), nn.Dropout(dropout), nn.Linear(d, classes)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.out(self.drop(torch.tanh(self.dense(self.drop(h)))))


class Block(nn.Module):
    """A post-LN encoder block with softmax or ReLU attention over the unpadded keys."""

    def __init__(self, d: int, heads: int, ff: int, dropout: float, attention: str):
        super().__init__()
        self.heads, self.attention = heads, attention
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ff1, self.ff2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.drop = nn.Dropout(dropout)

    def attend(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        B, L, d = x.shape
        q, k, v = self.qkv(x).view(B, L, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)  # (B, H, L, L)
        keys = keep[:, None, None, :]
        if self.attention == "softmax":
            a = torch.softmax(scores.masked_fill(~keys, float("-inf")), dim=-1)
        else:
            a = F.relu(scores) * keys / keep.sum(1).clamp(min=1)[:, None, None, None]
        out = (self.drop(a) @ v).transpose(1, 2).reshape(B, L, d)
        return self.proj(out)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        x = self.ln1(x + self.drop(self.attend(x, keep)))
        return self.ln2(x + self.drop(self.ff2(self.drop(F.gelu(self.ff1(x))))))


class Encoder(nn.Module):
    """A RoBERTa-style encoder classifying sentence pairs at ``<s>`` (see the module docstring)."""

    def __init__(
        self,
        vocab: int,
        d: int,
        layers: int,
        heads: int,
        ff: int,
        max_len: int,
        dropout: float = 0.1,
        attention: str = "softmax",
        classes: int = 2,
    ):
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f"attention: must be one of {list(ATTENTIONS)}, got {attention!r}")
        if d % heads:
            raise ValueError(f"heads: must divide the width d={d}, got {heads}")
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(max_len, d)
        self.norm, self.drop = nn.LayerNorm(d), nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d, heads, ff, dropout, attention) for _ in range(layers))
        self.head = Head(d, classes, dropout)

    def raw(self, ids: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` ids -> ``(B, L, d)`` token + position embedding, before the LayerNorm."""
        return self.tok(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` ids -> ``(B, L, d)`` LayerNorm(token + position embedding)."""
        return self.norm(self.raw(ids))

    def classify(self, emb: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        keep = torch.arange(emb.shape[1], device=emb.device)[None, :] < lengths[:, None]
        x = self.drop(emb)
        for block in self.blocks:
            x = block(x, keep)
        return self.head(x[:, 0])

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(ids), lengths)


class LSTMClassifier(nn.Module):
    """An LSTM of ``layers`` layers classifying sentence pairs at their last token (see the module docstring)."""

    def __init__(self, vocab: int, d: int, layers: int, dropout: float = 0.1, classes: int = 2, head: str = "dense"):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"head: must be one of {list(HEADS)}, got {head!r}")
        self.tok, self.norm, self.drop = nn.Embedding(vocab, d), nn.LayerNorm(d), nn.Dropout(dropout)
        self.lstm = nn.LSTM(d, d, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.head = Head(d, classes, dropout) if head == "dense" else nn.Linear(d, classes)

    def raw(self, ids: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` ids -> ``(B, L, d)`` token embedding, before the LayerNorm."""
        return self.tok(ids)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` ids -> ``(B, L, d)`` LayerNorm(token embedding)."""
        return self.norm(self.raw(ids))

    def classify(self, emb: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.drop(emb))
        last = out[torch.arange(emb.shape[0], device=emb.device), lengths - 1]
        return self.head(last)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(ids), lengths)


def build(
    name: str, vocab: int, d: int, layers: int, heads: int, ff: int, max_len: int, dropout: float, head: str = "dense"
) -> nn.Module:
    """The model ``name`` of :data:`LANGUAGE_MODELS` ("lstm", "softmax" or "relu" attention); ``head`` is the
    LSTM's (:data:`HEADS`; the encoder always has RoBERTa's)."""
    if name == "lstm":
        return LSTMClassifier(vocab, d, layers, dropout, head=head)
    if name in ATTENTIONS:
        return Encoder(vocab, d, layers, heads, ff, max_len, dropout, attention=name)
    raise ValueError(f"model: must be one of {list(LANGUAGE_MODELS)}, got {name!r}")


def trained_parameters(model: nn.Module, trains: str = "all") -> list[nn.Parameter]:
    """The parameters the optimiser updates: all of ``model``'s (``trains="all"``), or only its ``nn.LSTM``
    module's (``"lstm"``, V25's released LSTM script: embedding, LayerNorm and head stay as initialised)."""
    if trains not in TRAINS:
        raise ValueError(f"trains: must be one of {list(TRAINS)}, got {trains!r}")
    if trains == "all":
        return list(model.parameters())
    if not isinstance(getattr(model, "lstm", None), nn.LSTM):
        raise ValueError(f"trains: 'lstm' trains an LSTM's recurrent weights only; {type(model).__name__} has none")
    return list(model.lstm.parameters())
