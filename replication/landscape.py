"""Loss-landscape measurements of HR24 §7.1: sharpness, parameter norm and LayerNorm blowup."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, vmap

from .models import HR24Encoder

#: Parameters HR24 leave out of θ: positional embeddings, whose count depends on n (§5).
HR24_EXCLUDE = ("pos_emb",)


def _split(model: nn.Module, exclude: Sequence[str]):
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    perturbed = [k for k in params if not any(k.startswith(e) for e in exclude)]
    if not perturbed:
        raise ValueError(f"exclude: {tuple(exclude)} leaves no parameter to perturb")
    return params, buffers, perturbed


def _perturbations(params, names, rho, count, seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(count):
        noisy = dict(params)
        for k in names:
            p = params[k]
            noisy[k] = p + rho * torch.randn(p.shape, generator=g, dtype=p.dtype).to(p.device)
        yield noisy


def _check(rho, n_perturbations):
    if not (isinstance(rho, (int, float)) and rho > 0):
        raise ValueError(f"rho: must be a positive number, got {rho!r}")
    if isinstance(n_perturbations, bool) or not isinstance(n_perturbations, int) or n_perturbations < 1:
        raise ValueError(f"n_perturbations: must be a positive integer, got {n_perturbations!r}")


#: Perturbations go through one batched forward pass (``vmap`` over stacked parameters) when a single
#: perturbation's forward is this small (inputs × positions): on one CPU thread, 20 perturbations of the
#: cpu-scale encoder (d = 32) run 3.8× faster batched at 16 strings of n = 4 (64 tokens) and 1.4× at 64
#: strings of n = 6 (384), but 0.9× at 256 strings of n = 8 and 0.2× at 2048 strings of n = 30 (measured on
#: a 2-core machine; README, "Performance"). Above it an :class:`HR24Encoder` runs :func:`folded_forward` once
#: per perturbation, another model the module itself. On a GPU every size is batched, in chunks sized to its
#: free memory.
CPU_BATCH_TOKENS = 512

#: Memory a batched chunk of perturbations may use for activations on the CPU (bytes).
CPU_CHUNK_BYTES = 256 * 2**20


def _unique_rows(x: torch.Tensor):
    """``(rows, inverse)`` with ``rows[inverse] == x``, or ``(x, None)`` when deduplicating saves nothing.

    Only token strings (integer tensors) are deduplicated: a model reading them maps each row on its own,
    so the outputs of the distinct strings, put back in place, are those of the whole batch. At the cpu
    scale's 2048 evaluation strings this leaves 16 strings at n = 4 and 256 at n = 8.
    """
    if x.is_floating_point() or x.dim() < 2 or len(x) < 2:
        return x, None
    flat = x.reshape(len(x), -1)
    base = int(flat.max()) + 1 if flat.numel() else 1
    if int(flat.min()) >= 0 and flat.shape[1] * math.log2(max(base, 2)) < 62:
        # each row as one integer, its digits in base ``base`` (exact): a sort of B numbers, not of B rows
        digits = base ** torch.arange(flat.shape[1] - 1, -1, -1, device=x.device, dtype=torch.int64)
        keys, inverse = torch.unique((flat.long() * digits).sum(1), return_inverse=True)
        if len(keys) == len(x):
            return x, None
        rows = x.new_empty((len(keys), *x.shape[1:]))
        rows[inverse] = x
        return rows, inverse
    rows, inverse = torch.unique(x, dim=0, return_inverse=True)
    return (x, None) if len(rows) == len(x) else (rows, inverse)


def _bytes_per_token(model: nn.Module) -> int:
    """Rough activation memory of one input position in a forward pass (float32 ``d``-vectors kept alive)."""
    cfg = getattr(model, "cfg", None)
    d = getattr(cfg, "d", None) or max((p.shape[-1] for p in model.parameters() if p.dim() >= 1), default=64)
    n = getattr(cfg, "n", 1)
    heads = getattr(cfg, "heads", 1)
    return 4 * (16 * d + 2 * heads * n)


#: Processes sharing the GPU (set by the sweep runner in each worker): each takes its share of the budget.
GPU_SHARE = 1


def perturbation_chunk(model: nn.Module, x: torch.Tensor, n_perturbations: int) -> int:
    """Perturbations evaluated per forward pass for inputs ``x`` (the distinct ones): 1 means one at a time.

    CPU: batched only when one perturbation's forward is at most :data:`CPU_BATCH_TOKENS` positions, as many
    as fit in :data:`CPU_CHUNK_BYTES`. CUDA: as many as fit in a quarter of the free GPU memory, divided
    among the :data:`GPU_SHARE` processes that share the card.
    """
    tokens = max(1, x.numel() if x.dim() >= 2 else len(x))
    per = tokens * _bytes_per_token(model)
    if x.device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(x.device)
        budget = free // (4 * GPU_SHARE)
    elif tokens <= CPU_BATCH_TOKENS:
        budget = CPU_CHUNK_BYTES
    else:
        return 1
    return int(max(1, min(n_perturbations, budget // per)))


def _batched_outputs(model, fixed: dict, chunk: list[dict], names: list[str], x: torch.Tensor) -> list[torch.Tensor]:
    """Outputs of ``len(chunk)`` perturbed models in one forward pass: ``vmap`` over stacked parameters."""
    stacked = {k: torch.stack([noisy[k] for noisy in chunk]) for k in names}
    out = vmap(lambda p: functional_call(model, {**fixed, **p}, (x,)))(stacked)
    return list(out.unbind(0))


# ---- the encoder's forward pass, refactored for many parameter vectors on the same inputs ----------------
#
# Sharpness evaluates one set of inputs under many parameter vectors. For :class:`HR24Encoder` two exact
# rewrites of the forward pass (equal up to float32 rounding; ``tests/test_fast_paths.py``) save most of
# its work at long inputs:
#
# - Layer 1 reads ``[tok_emb(x_i) | pos_emb(i)]``, which takes only ``vocab × n`` values. Its queries, keys
#   and values are tables over (token, position), and so is every attention score: ``score(x_i, i, x_j, j)``,
#   a ``(heads, vocab, n, vocab, n)`` table, read for each string by an index built once for all
#   perturbations. Softmax becomes ``exp`` of that table (shifted by a per-row constant, which leaves softmax
#   unchanged) read the same way, then normalised. Values enter through ``W_o v(x_j, j)``, a table over
#   positions plus ``x_j`` times a per-token vector, so the attention output is one matrix product.
# - The last layer is read at the last position only. Its keys and values enter the output only through
#   ``q·(W_k h_j + b_k)`` and ``Σ_j a_j (W_v h_j + b_v)``: they become ``(W_kᵀ q)·h_j`` (``q·b_k`` is the same
#   for every ``j`` and cancels in softmax) and ``W_v (Σ_j a_j h_j) + b_v``, never projecting every position.
#
# On one CPU thread at n = 30, d = 32 and 2048 strings this forward pass is several times faster than the
# module's (README, "Performance").

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
    z = F.linear(F.relu_(F.linear(y, p[pre + "linear1.weight"], p[pre + "linear1.bias"])),
                 p[pre + "linear2.weight"], p[pre + "linear2.bias"])  # fmt: skip
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
        "scores": ((table - shift).exp_() if exp else table).reshape(-1), "exp": exp,
        "out_v": torch.einsum("jhe,dhe->hjd", v[0], Wo).reshape(H * n, d),  # W_o v(0, j), per head
        "emb": emb + p[pre + "out_proj.bias"],  # (V n, d): the residual stream, with W_o's bias
        # W_o (v(a, ·) - v(0, ·)) per head, for each token a > 0: (H, d) each
        "out_dv": [torch.einsum("he,dhe->hd", (A[a, 2 * d :] - A[0, 2 * d :]).view(H, dh), Wo) for a in range(1, V)],
    }  # fmt: skip


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
    """Layer ``k`` on every position, as :class:`replication.models.EncoderLayer`: ``(B, n, d) -> (B n, d)``."""
    B, n, d = h.shape
    H, pre = cfg.heads, f"layers.{k}."
    q, k_, v = F.linear(h, p[pre + "self_attn.in_proj_weight"], p[pre + "self_attn.in_proj_bias"]) \
        .view(B, n, 3, H, d // H).permute(2, 0, 3, 1, 4)  # (B, H, n, dh) each
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


@torch.no_grad()
def _outputs_under_noise(model, x, rho: float = 0.02, n_perturbations: int = 20, seed: int = 0,
                         exclude: Sequence[str] = HR24_EXCLUDE, chunk: int | None = None,
                         dedup: bool = True, fold: bool | None = None):  # fmt: skip
    """``T_θ(x)`` and a list of ``T_{θ+Δ}(x)``, one per Gaussian perturbation (model left unchanged).

    The perturbations are drawn in a fixed order (perturbation by perturbation, parameter by parameter in
    ``named_parameters()`` order, one generator seeded with ``seed``), whatever the evaluation strategy:
    with ``fold`` (None: where :func:`foldable` and the inputs are too many to batch, see
    :func:`perturbation_chunk`) one :func:`folded_forward` per perturbation; otherwise ``chunk``
    perturbations per forward pass (None: :func:`perturbation_chunk`; 1: one at a time with
    ``functional_call``); over the distinct rows of ``x`` when ``dedup`` (outputs put back in place).
    ``chunk=1, dedup=False`` is the plain loop, one forward pass per perturbation over every input.
    """
    _check(rho, n_perturbations)
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"chunk: must be a positive integer or None, got {chunk!r}")
    if fold is not None and not isinstance(fold, bool):
        raise ValueError(f"fold: must be True, False or None, got {fold!r}")
    if fold and chunk is not None:
        raise ValueError(f"chunk: the folded forward evaluates one perturbation at a time, got chunk={chunk!r}")
    was_training = model.training
    model.eval()
    try:
        params, buffers, names = _split(model, exclude)
        rows, inverse = _unique_rows(x) if dedup else (x, None)
        if fold is None:
            fold = chunk is None and x.device.type == "cpu" and foldable(model, rows) \
                and perturbation_chunk(model, rows, n_perturbations) == 1  # fmt: skip
        elif fold and not foldable(model, rows):
            raise ValueError("fold: the folded forward needs an HR24Encoder of two layers or more and token strings")
        if chunk is None and not fold:
            chunk = perturbation_chunk(model, rows, n_perturbations)
        draws = _perturbations(params, names, rho, n_perturbations, seed)
        outs: list[torch.Tensor] = []
        if fold:
            plans = fold_plans(model.cfg, rows)
            base = folded_forward(params, model.cfg, plans)
            outs = [folded_forward(noisy, model.cfg, plans) for noisy in draws]
        elif chunk == 1:
            base = model(rows)
            outs = [functional_call(model, {**noisy, **buffers}, (rows,)) for noisy in draws]
        else:
            base, fixed = model(rows), {**{k: v for k, v in params.items() if k not in names}, **buffers}
            for start in range(0, n_perturbations, chunk):
                group = [next(draws) for _ in range(min(chunk, n_perturbations - start))]
                outs += _batched_outputs(model, fixed, group, names, rows)
        if inverse is not None:
            base, outs = base[inverse], [o[inverse] for o in outs]
    finally:
        model.train(was_training)
    return base, outs


def _sq_deviations(base: torch.Tensor, outs: list[torch.Tensor], rescale: float) -> np.ndarray:
    """``rescale * mean_x (T_{θ+Δ}(x) - T_θ(x))^2`` for each perturbation, ``(n_perturbations,)``."""
    return np.array([float(((out - base) ** 2).mean()) * rescale for out in outs])


def sharpness(model: nn.Module, x: torch.Tensor, rescale: float = 4.0, return_all: bool = False, **noise):
    """Average-direction sharpness, HR24 Eq. 15 with Gaussian directions (§7.1).

    ``rescale * mean_{Δ, x} (T_{θ+Δ}(x) - T_θ(x))^2`` with ``Δ ~ N(0, ρ² I)`` on every parameter whose
    name does not start with an entry of ``exclude`` (HR24: all but positional embeddings; LayerNorm,
    token embedding and head included). ``rescale=4`` puts {0,1}-scale outputs on the theory's ±1 scale.

    Args:
        model: maps ``x`` to ``(B,)`` outputs; it is not modified.
        x: ``(B, n)`` inputs, the same for every perturbation.
        return_all: also return the per-perturbation means, ``(n_perturbations,)``.
        noise: ``rho`` (0.02), ``n_perturbations`` (20), ``seed`` (0: the same directions for the same
            seed), ``exclude`` (parameter-name prefixes left unperturbed; default the positional embeddings),
            and how they are evaluated, which leaves the directions unchanged: ``fold`` (None: an
            :class:`HR24Encoder` on inputs too many to batch runs :func:`folded_forward`, exact up to
            float32 rounding; False: never), ``chunk`` (perturbations per forward pass; None:
            :func:`perturbation_chunk`) and ``dedup`` (True: token strings that occur several times in
            ``x`` are evaluated once).
    """
    base, outs = _outputs_under_noise(model, x, **noise)
    vals = _sq_deviations(base, outs, rescale)
    return (float(vals.mean()), vals) if return_all else float(vals.mean())


def delta_mse_sharpness(model: nn.Module, x: torch.Tensor, y: torch.Tensor, **settings) -> float:
    """The original code's sharpness: ``rescale * (E_Δ[MSE(θ+Δ)] - MSE(θ))`` against targets ``y``.

    ``settings`` are those of :func:`sharpness` (``rescale``, ``rho``, ``n_perturbations``, ``seed``,
    ``exclude``), with the same perturbations for the same ``seed``. Since
    ``MSE(θ+Δ) - MSE(θ) = E(T_{θ+Δ}-T_θ)² + 2 E(T_{θ+Δ}-T_θ)(T_θ - y)``, the two agree when the fit is
    exact (``T_θ ≈ y``).
    """
    return sharpness_both(model, x, y, **settings)["delta_mse"]


def sharpness_both(model: nn.Module, x: torch.Tensor, y: torch.Tensor, rescale: float = 4.0, **noise) -> dict[str, float]:
    """:func:`sharpness` (Eq. 15) and :func:`delta_mse_sharpness` from one pass over the perturbations.

    Returns ``{"sharpness", "sharpness_se", "delta_mse"}``, equal to the two functions called with the same
    arguments (``noise`` as in :func:`sharpness`; ``sharpness_se``: standard error of the Eq. 15 mean over
    perturbations); half the cost.
    """
    base, outs = _outputs_under_noise(model, x, **noise)
    y = y.to(base.dtype)
    sq = _sq_deviations(base, outs, rescale)
    mse = np.array([float(((out - y) ** 2).mean()) for out in outs])
    base_mse = float(((base - y) ** 2).mean())
    se = float(sq.std(ddof=1) / np.sqrt(len(sq))) if len(sq) > 1 else float("nan")
    return {"sharpness": float(sq.mean()), "sharpness_se": se, "delta_mse": rescale * (float(mse.mean()) - base_mse)}


def parameter_norm(model: nn.Module, exclude: Sequence[str] = HR24_EXCLUDE) -> float:
    """L2 norm of all parameters but those excluded (HR24 §7.1: positional embeddings)."""
    params, _, names = _split(model, exclude)
    return float(torch.sqrt(sum((params[k].detach().double() ** 2).sum() for k in names)))


@torch.no_grad()
def blowup_moments(model, x: torch.Tensor, convention: str = "eq5") -> dict[str, float]:
    """``E[Blowup]``, ``E[Blowup²]`` and ``E[log Blowup]`` over the inputs ``x`` (HR24 §7.1, Cor. 5)."""
    b = model.blowup(x, convention=convention).double()
    return {
        "blowup": float(b.mean()),
        "blowup_sq": float((b**2).mean()),
        "log_blowup": float(torch.log(b).mean()),
    }
