"""The HR24 encoder's forward pass, folded for many parameter vectors on the same inputs.

Sharpness evaluates one set of inputs under many parameter vectors. For :class:`HR24Encoder` two exact
rewrites of the forward pass (equal up to float32 rounding; ``tests/core/measures/test_fast_paths.py``) save most of
its work at long inputs:

- Layer 1 reads ``[tok_emb(x_i) | pos_emb(i)]``, which takes only ``vocab × n`` values. Its queries, keys
  and values are tables over (token, position), and so is every attention score: ``score(x_i, i, x_j, j)``,
  a ``(heads, vocab, n, vocab, n)`` table, read for each string by an index built once for all
  perturbations. Softmax becomes ``exp`` of that table (shifted by a per-row constant, which leaves softmax
  unchanged) read the same way, then normalised. Values enter through ``W_o v(x_j, j)``, a table over
  positions plus ``x_j`` times a per-token vector, so the attention output is one matrix product.
- The last layer is read at the last position only. Its keys and values enter the output only through
  ``q·(W_k h_j + b_k)`` and ``Σ_j a_j (W_v h_j + b_v)``: they become ``(W_kᵀ q)·h_j`` (``q·b_k`` is the same
  for every ``j`` and cancels in softmax) and ``W_v (Σ_j a_j h_j) + b_v``, never projecting every position.

On one CPU thread at n = 30, d = 32 and 2048 strings this forward pass is several times faster than the
module's (README, "Performance").
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .encoder import HR24Encoder


#: The exp-table form is used when, in every row of the score table, the largest score is at most this far
#: above the row's shift (so ``exp`` neither overflows nor leaves a string's row summing to zero); otherwise
#: the scores are read and passed to softmax.
EXP_RANGE = 60.0


def foldable(model: nn.Module, x: torch.Tensor) -> bool:
    """Whether :func:`folded_forward` computes ``model(x)``: an :class:`HR24Encoder` (not a subclass) of at
    least two layers, and token strings ``x`` ``(B, n)`` in its alphabet."""
    if type(model) is not HR24Encoder or model.cfg.layers < 2 or any(True for _ in model.buffers()):
        return False
    if x.is_floating_point() or x.dim() != 2 or x.shape[1] != model.cfg.n or len(x) == 0:
        return False
    return bool(x.min() >= 0) and bool(x.max() < model.cfg.vocab)


#: Strings per pass of :func:`folded_forward`: as many as keep a pass's largest activations (scores and
#: ``d``-vectors of every position) within about this many bytes, so that they stay in cache. On the 2-core
#: machine (1 MiB L2 per core, 32 MiB L3 shared), d = 32 and 2048 strings, passes of 4 MiB (185 strings at
#: n = 30, 409 at n = 16) ran 1.2x (n = 10) to 1.6x (n = 30) faster than one pass over all strings under
#: load; passes of 8 or 3 MiB were within 10 % of them in total over n = 10-30.
FOLD_CHUNK_BYTES = 4 * 2**20


def fold_plans(cfg, x: torch.Tensor, chunk_bytes: int = FOLD_CHUNK_BYTES) -> list[dict]:
    """:func:`fold_plan` for consecutive groups of strings of ``x``, each sized to ``chunk_bytes``."""
    per_string = 4 * cfg.n * (cfg.heads * cfg.n + 4 * max(cfg.d, cfg.ff))
    size = max(1, chunk_bytes // per_string)
    return [fold_plan(cfg, x[i : i + size]) for i in range(0, len(x), size)]


def fold_plan(cfg, x: torch.Tensor) -> dict:
    """Index tensors for strings ``x`` ``(B, n)``, shared by every parameter vector (:func:`folded_forward`)."""
    B, n = x.shape
    V, H = cfg.vocab, cfg.heads
    # (B, n): the row of (x_i, i) in a (V n, ·) table
    tokpos = x.int() * n + torch.arange(n, device=x.device, dtype=torch.int32)
    heads = torch.arange(H, device=x.device, dtype=torch.int32) * (V * n * V * n)
    # score of (string b, query i, head h, key j) in the flat (H, V, n, V, n) table, laid out (B, n, H, n)
    idx = (tokpos * (V * n))[:, :, None, None] + heads[None, None, :, None] + tokpos[:, None, None, :]
    masks = [(x == a).to(torch.float32)[:, None, None, :] for a in range(1, V)]  # (B, 1, 1, n) each
    return {"B": B, "scores": idx.reshape(-1), "emb": tokpos.reshape(-1), "masks": masks}


def _ff_norms(p: dict, pre: str, y: torch.Tensor, cfg) -> torch.Tensor:
    """``norm2(y' + ff(y'))`` with ``y' = norm1(y)``: the rest of a post-LN layer, ``(M, d) -> (M, d)``."""
    y = F.layer_norm(y, (cfg.d,), p[pre + "norm1.weight"], p[pre + "norm1.bias"], cfg.eps)
    z = F.linear(
        F.relu_(F.linear(y, p[pre + "linear1.weight"], p[pre + "linear1.bias"])),
        p[pre + "linear2.weight"],
        p[pre + "linear2.bias"],
    )
    return F.layer_norm(z.add_(y), (cfg.d,), p[pre + "norm2.weight"], p[pre + "norm2.bias"], cfg.eps)


def _first_layer_tables(p: dict, cfg) -> dict:
    """What layer 1 needs of parameters ``p``, over (token, position) pairs (:func:`_first_layer`)."""
    d, H, n, V = cfg.d, cfg.heads, cfg.n, cfg.vocab
    dh, half = d // H, d // 2
    pre = "layers.0.self_attn."
    tok, pos = p["tok_emb.weight"], p["pos_emb.weight"]
    W, Wo = p[pre + "in_proj_weight"], p[pre + "out_proj.weight"].view(d, H, dh)
    A = tok @ W[:, :half].T  # (V, 3d): the token half's share of q, k, v
    C = torch.addmm(p[pre + "in_proj_bias"], pos, W[:, half:].T)  # (n, 3d): the position half's, with bias
    q, k, v = (A[:, None] + C[None]).view(V, n, 3, H, dh).unbind(2)  # (V, n, H, dh) each
    table = torch.einsum("aihe,cjhe->haicj", q / math.sqrt(dh), k)  # (H, V, n, V, n) scores
    shift = table.amin(-2, keepdim=True).amax(-1, keepdim=True)  # ≤ the largest score of every string's row
    exp = float((table.amax((-2, -1), keepdim=True) - shift).max()) < EXP_RANGE
    emb = torch.cat([tok[:, None].expand(V, n, half), pos[None].expand(V, n, half)], -1).reshape(V * n, d)
    return {
        "scores": ((table - shift).exp_() if exp else table).reshape(-1),
        "exp": exp,
        "out_v": torch.einsum("jhe,dhe->hjd", v[0], Wo).reshape(H * n, d),  # W_o v(0, j), per head
        "emb": emb + p[pre + "out_proj.bias"],  # (V n, d): the residual stream, with W_o's bias
        # W_o (v(a, ·) - v(0, ·)) per head, for each token a > 0: (H, d) each
        "out_dv": [torch.einsum("he,dhe->hd", (A[a, 2 * d :] - A[0, 2 * d :]).view(H, dh), Wo) for a in range(1, V)],
    }


def _first_layer(p: dict, cfg, tables: dict, plan: dict) -> torch.Tensor:
    """Layer 1 on every position of the strings of ``plan``, read from ``tables``, ``-> (B n, d)``."""
    H, n, B = cfg.heads, cfg.n, plan["B"]
    e = tables["scores"].index_select(0, plan["scores"]).view(B, n, H, n)
    if not tables["exp"]:
        e = torch.softmax(e, dim=-1)
    total = e.sum(-1, keepdim=True)  # (B, n, H, 1)
    with_token = [(e * m).sum(-1).view(B * n, H) for m in plan["masks"]]  # Σ_j e_ij [x_j = a]
    e.div_(total)
    total = total.view(B * n, H)
    y = tables["emb"].index_select(0, plan["emb"]).addmm_(e.view(B * n, H * n), tables["out_v"])
    for s, out_dv in zip(with_token, tables["out_dv"]):  # + (Σ_j a_ij [x_j = a]) W_o (v(a, ·) - v(0, ·))
        y.addmm_(s / total, out_dv)
    return _ff_norms(p, "layers.0.", y, cfg)


def _middle_layer(p: dict, k: int, h: torch.Tensor, cfg) -> torch.Tensor:
    """Layer ``k`` on every position, as :class:`replication.models.encoder.EncoderLayer`: ``(B, n, d) -> (B n, d)``."""
    B, n, d = h.shape
    H, pre = cfg.heads, f"layers.{k}."
    q, k_, v = (
        F.linear(h, p[pre + "self_attn.in_proj_weight"], p[pre + "self_attn.in_proj_bias"])
        .view(B, n, 3, H, d // H)
        .permute(2, 0, 3, 1, 4)
    )  # (B, H, n, dh) each
    att = torch.softmax(q @ k_.transpose(-1, -2) / math.sqrt(d // H), dim=-1)
    o = (att @ v).transpose(1, 2).reshape(B * n, d)
    y = h.reshape(B * n, d) + F.linear(o, p[pre + "self_attn.out_proj.weight"], p[pre + "self_attn.out_proj.bias"])
    return _ff_norms(p, pre, y, cfg)


def _last_layer(p: dict, k: int, h: torch.Tensor, cfg) -> torch.Tensor:
    """Layer ``k`` at the last position, keys and values never projected: ``(B, n, d) -> (B, d)``."""
    B, n, d = h.shape
    H, pre = cfg.heads, f"layers.{k}.self_attn."
    dh = d // H
    W, b = p[pre + "in_proj_weight"], p[pre + "in_proj_bias"]
    last = h[:, -1]  # (B, d)
    q = F.linear(last, W[:d], b[:d]).view(B, H, dh) / math.sqrt(dh)
    qk = torch.matmul(q.transpose(0, 1), W[d : 2 * d].view(H, dh, d))  # (H, B, d): W_kᵀ q per head
    att = torch.softmax(torch.bmm(h, qk.permute(1, 2, 0)), dim=1)  # (B, n, H)
    mixed = torch.bmm(att.transpose(1, 2), h)  # (B, H, d): Σ_j a_j h_j
    o = torch.baddbmm(b[2 * d :].view(H, 1, dh), mixed.transpose(0, 1), W[2 * d :].view(H, dh, d).transpose(1, 2))
    y = last + F.linear(o.transpose(0, 1).reshape(B, d), p[pre + "out_proj.weight"], p[pre + "out_proj.bias"])
    return _ff_norms(p, f"layers.{k}.", y, cfg)


def folded_forward(params: dict, cfg, plans: list[dict]) -> torch.Tensor:
    """``HR24Encoder(cfg)`` with parameters ``params`` (its ``named_parameters()`` names) on the strings of
    ``plans`` (:func:`fold_plans`), ``-> (B,)``; equal to the module's forward up to float32 rounding."""
    tables, outs = _first_layer_tables(params, cfg), []
    for plan in plans:
        h = _first_layer(params, cfg, tables, plan).view(plan["B"], cfg.n, cfg.d)
        for k in range(1, cfg.layers - 1):
            h = _middle_layer(params, k, h, cfg).view(plan["B"], cfg.n, cfg.d)
        outs.append(F.linear(_last_layer(params, cfg.layers - 1, h, cfg), params["head.weight"], params["head.bias"]))
    return torch.cat(outs).squeeze(-1)
