"""Chapter 09: the synthetic sparse-vs-frequent task of V25 §4.1 (Def. 4.2, 4.3, Eq. 3, App. D).

Tokens are one-hot vectors ``e_1 .. e_M``; here token id ``i`` (0-based) is ``e_{i+1}``, so (Def. 4.2)

- sparse tokens: id 0 (label +1) and id 1 (label -1);
- frequent tokens: ids 2, 4, .., 2m (label +1) and 3, 5, .., 2m+1 (label -1);
- irrelevant tokens: ids 2m+2 .. M-1.

A data point (Def. 4.3) has label ``y = ±1`` and ``T`` tokens at random positions: ``a = ⌊(n_f+n_d)/2⌋``
frequent tokens of label ``y`` and ``n_f - a`` of label ``-y`` (each drawn uniformly from its set),
``n_s`` copies of the sparse token of ``y``, and irrelevant tokens elsewhere. The out-of-distribution
(OOD) test set puts the sparse tokens of ``-y`` instead: a model that reads the sparse tokens gets it
wrong, one that reads the frequent tokens gets it right.

Two predictors solve the task: ``sign(#sparse(+1) - #sparse(-1))`` and ``sign(#frequent(+1) -
#frequent(-1))``. Their token-wise sensitivity (V25 Def. 4.1, the token replaced by one drawn
uniformly from the vocabulary) has a closed form, :func:`predictor_sensitivity`. V25 do not state the
vocabulary size ``M``, and a replacement can make a count difference 0, where ``sign`` is 0 and neither
label: :func:`vocabulary_search` finds the ``M`` and the tie rule that give V25's Table 1/3 numbers.

The model is Eq. 3: ``Φ(X) = <U, softmax(X W_Q W_K^T X^T) X W_V>`` with ``X`` the ``(T, M)`` one-hot
matrix, so ``X W`` is a row lookup. ``U`` has one row per position (``T x d̃``; the paper prints its
shape as ``d̃ x d̃``, but the inner product needs ``T`` rows, and V25's alignment of the rows of
``U W_V^T`` with token directions needs ``d̃`` columns).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ...checks import check_choice, check_float, check_int

#: V25 Table 3 (Table 1's two settings are its middle columns): (n_s, n_f, n_d, m) -> (sparse, frequent).
PAPER_TABLE = {
    (3, 3, 1, 6): (0.0, 0.1315),
    (3, 5, 1, 16): (0.0, 0.2878),
    (3, 7, 1, 28): (0.0, 0.4502),
    (1, 7, 7, 10): (0.0339, 0.0),
    (1, 17, 7, 20): (0.0339, 0.0),
    (1, 32, 7, 36): (0.0339, 0.0),
}
#: Sequence length of every V25 setting (App. D).
T_PAPER = 50
#: How a replacement that makes the count difference 0 (``sign`` = 0) is counted.
TIE_RULES = ("change", "keep", "half")  # a change (0 ≠ ±1) | no change | half a change (a coin flip)
#: Where the replacement token is drawn from: the whole vocabulary, or the vocabulary without the token replaced.
REPLACEMENTS = ("with_self", "without_self")
#: Token classes, in the order of :func:`token_classes`.
CLASSES = ("sparse_y", "sparse_other", "frequent_y", "frequent_other", "irrelevant")
#: Largest vocabulary the search tries.
M_SEARCH_MAX = 200
#: V25 print 4 decimals: a value within this of the paper's is reproduced.
ROUNDING = 5e-5


@dataclass(frozen=True)
class Setting:
    """One data setting of V25 Def. 4.3 (Table 1/3 name it ``(n_s, n_f, n_d, m)``)."""

    n_s: int  # sparse tokens per sequence (all of the label's sparse token)
    n_f: int  # frequent tokens per sequence
    n_d: int  # the label's majority among frequent tokens: ⌊(n_f+n_d)/2⌋ of label y, the rest of -y
    m: int  # frequent tokens per label in the vocabulary

    def __post_init__(self):
        check_int("n_s", self.n_s, 1)
        check_int("n_f", self.n_f, 1)
        check_int("m", self.m, 1)
        check_int("n_d", self.n_d, 1, self.n_f)
        # Def. 4.2 asks n_s < n_f; Table 3's own first setting (3, 3, 1, 6) has n_s = n_f, so allow it.
        if self.n_s > self.n_f:
            raise ValueError(f"settings: n_s = {self.n_s} must not exceed n_f = {self.n_f} (V25 Def. 4.2)")
        if self.margin < 1:
            raise ValueError(f"settings: n_d = {self.n_d} with n_f = {self.n_f} gives as many frequent tokens of "
                             f"-y as of y, so the frequent tokens do not determine the label; make n_f + n_d "
                             f"larger or even")  # fmt: skip

    @property
    def a(self) -> int:
        """Frequent tokens of the label's own set in each sequence."""
        return (self.n_f + self.n_d) // 2

    @property
    def margin(self) -> int:
        """Frequent tokens of label y minus those of -y in each sequence."""
        return 2 * self.a - self.n_f

    @property
    def label(self) -> str:
        return f"({self.n_s},{self.n_f},{self.n_d},{self.m})"

    def check_length(self, T: int, M: int) -> None:
        """Raise unless sequences of ``T`` tokens and a vocabulary of ``M`` tokens can hold this setting."""
        if self.n_f + self.n_s > T:
            raise ValueError(f"settings: {self.label} needs n_f + n_s = {self.n_f + self.n_s} ≤ T = {T} tokens")
        need = 2 * self.m + 2 + (1 if self.n_f + self.n_s < T else 0)
        if M < need:
            raise ValueError(f"vocab: {self.label} needs M ≥ {need} tokens (2 sparse, 2m = {2 * self.m} frequent"
                             f"{', one irrelevant' if need > 2 * self.m + 2 else ''}), got M = {M}")  # fmt: skip


def as_setting(s) -> Setting:
    """A :class:`Setting` from itself or a 4-tuple ``(n_s, n_f, n_d, m)``."""
    if isinstance(s, Setting):
        return s
    if not isinstance(s, (tuple, list)) or len(s) != 4:
        raise ValueError(f"settings: each setting must be 4 integers (n_s, n_f, n_d, m), got {s!r}")
    return Setting(*s)


# --------------------------------------------------------------------------------------------------
# Data (Def. 4.2, 4.3)


def token_classes(m: int, M: int) -> dict[str, torch.Tensor]:
    """Token ids of each set of Def. 4.2 for labels +1 and -1: keys ``sparse+``, ``sparse-``, ``frequent+``,
    ``frequent-``, ``irrelevant``."""
    return {
        "sparse+": torch.tensor([0]),
        "sparse-": torch.tensor([1]),
        "frequent+": torch.arange(2, 2 * m + 2, 2),
        "frequent-": torch.arange(3, 2 * m + 2, 2),
        "irrelevant": torch.arange(2 * m + 2, M),
    }


def generate(setting: Setting, n: int, T: int, M: int, generator: torch.Generator, ood: bool = False):
    """``n`` data points of Def. 4.3: token ids ``(n, T)`` (long) and labels ``(n,)`` in {-1., +1.}.

    ``ood``: the sparse tokens are those of ``-y`` (V25's out-of-distribution test set).
    """
    s = as_setting(setting)
    s.check_length(T, M)
    g = generator
    y = torch.randint(0, 2, (n,), generator=g) * 2 - 1  # (n,)
    own = (y < 0).long()  # 0 for +1, 1 for -1: offset of the label's own sets
    freq_own = 2 + 2 * torch.randint(0, s.m, (n, s.a), generator=g) + own[:, None]
    freq_other = 2 + 2 * torch.randint(0, s.m, (n, s.n_f - s.a), generator=g) + (1 - own)[:, None]
    sparse = ((1 - own) if ood else own)[:, None].expand(n, s.n_s)
    n_irr = T - s.n_f - s.n_s
    irrelevant = 2 * s.m + 2 + torch.randint(0, max(M - 2 * s.m - 2, 1), (n, n_irr), generator=g)
    slots = torch.cat([freq_own, freq_other, sparse, irrelevant], dim=1)  # (n, T), in slot order
    positions = torch.argsort(torch.rand(n, T, generator=g), dim=1)  # slot j goes to position positions[:, j]
    ids = torch.empty_like(slots)
    ids.scatter_(1, positions, slots)
    return ids, y.float()


# --------------------------------------------------------------------------------------------------
# Exact sensitivity of the sparse-only and frequent-only predictors (Def. 4.1 with P uniform)


#: The predictors of :func:`predictor_sensitivity`: weights of the (sparse, frequent) count differences.
#: ``sparse_first`` follows the sparse tokens and lets the frequent ones decide only where the sparse
#: count difference is 0 (its frequent weight is below 1 / (n_f + 2), see the function).
PREDICTORS = ("sparse", "frequent", "sparse_first")


def predictor_sensitivity(setting, which: str, M: int, T: int = T_PAPER, ties: str = "change",
                          replacement: str = "with_self") -> float:  # fmt: skip
    """Exact V25 Def. 4.1 sensitivity of the predictor that reads the ``which`` tokens.

    ``"sparse"``: ``sign(#sparse(+1) - #sparse(-1))``; ``"frequent"``: the same for the frequent tokens;
    ``"sparse_first"``: the sparse difference plus ``1 / (2 n_f + 4)`` times the frequent one. Every
    sequence of a setting holds the same number of tokens of each class relative to its label, so the
    average over the data is the value for any one sequence: for each class of the token replaced and
    each class of the replacement, the new score decides a change (negative), a tie (zero; counted as
    ``ties`` says) or none.
    """
    s = as_setting(setting)
    s.check_length(T, M)
    check_choice("which", which, PREDICTORS)
    check_choice("ties", ties, TIE_RULES)
    check_choice("replacement", replacement, REPLACEMENTS)
    in_seq = {"sparse_y": s.n_s, "sparse_other": 0, "frequent_y": s.a, "frequent_other": s.n_f - s.a,
              "irrelevant": T - s.n_f - s.n_s}  # fmt: skip
    in_vocab = {"sparse_y": 1, "sparse_other": 1, "frequent_y": s.m, "frequent_other": s.m,
                "irrelevant": M - 2 * s.m - 2}  # fmt: skip
    w_sp, w_fr = {"sparse": (1.0, 0.0), "frequent": (0.0, 1.0), "sparse_first": (1.0, 1.0 / (2 * s.n_f + 4))}[which]
    weight = {"sparse_y": w_sp, "sparse_other": -w_sp, "frequent_y": w_fr, "frequent_other": -w_fr, "irrelevant": 0.0}
    score = w_sp * s.n_s + w_fr * s.margin
    tie = {"change": 1.0, "keep": 0.0, "half": 0.5}[ties]
    total = 0.0
    for c in CLASSES:
        if not in_seq[c]:
            continue
        options = M - (replacement == "without_self")
        for c2 in CLASSES:
            count = in_vocab[c2] - (replacement == "without_self" and c2 == c)
            new = score - weight[c] + weight[c2]
            changed = 1.0 if new < -1e-12 else (tie if abs(new) <= 1e-12 else 0.0)
            total += in_seq[c] * changed * count / options
    return total / T


def smallest_vocab(setting, T: int = T_PAPER) -> int:
    """The smallest vocabulary that holds ``setting`` with sequences of ``T`` tokens."""
    s = as_setting(setting)
    return 2 * s.m + 2 + (1 if s.n_f + s.n_s < T else 0)


def vocabulary_search(table: dict | None = None, T: int = T_PAPER, m_max: int = M_SEARCH_MAX) -> pd.DataFrame:
    """Every candidate (tie rule, replacement, M) for every setting of ``table`` (default V25 Table 3).

    One row per (setting, ties, replacement, M) with ``M`` from the smallest vocabulary the setting
    fits in up to ``m_max``: the two exact sensitivities, the paper's values and the largest absolute
    difference ``error`` of the two cells.
    """
    rows = []
    for key, (p_sparse, p_freq) in (table or PAPER_TABLE).items():
        s = as_setting(key)
        for ties in TIE_RULES:
            for replacement in REPLACEMENTS:
                for M in range(smallest_vocab(s, T), m_max + 1):
                    sp = predictor_sensitivity(s, "sparse", M, T, ties, replacement)
                    fr = predictor_sensitivity(s, "frequent", M, T, ties, replacement)
                    rows.append({"setting": s.label, "n_s": s.n_s, "n_f": s.n_f, "n_d": s.n_d, "m": s.m,
                                 "ties": ties, "replacement": replacement, "M": M, "sparse": sp, "frequent": fr,
                                 "paper_sparse": p_sparse, "paper_frequent": p_freq,
                                 "error": max(abs(sp - p_sparse), abs(fr - p_freq))})  # fmt: skip
    return pd.DataFrame(rows)


def best_candidates(search: pd.DataFrame) -> pd.DataFrame:
    """Per setting and rule, the vocabulary ``M`` with the smallest error (the smallest such ``M``)."""
    idx = search.sort_values(["error", "M"], kind="stable").groupby(["setting", "ties", "replacement"], sort=False).head(1)
    order = list(dict.fromkeys(search["setting"]))
    out = idx.assign(reproduced=idx["error"] <= ROUNDING, _o=idx["setting"].map(order.index))
    return out.sort_values(["_o", "ties", "replacement"]).drop(columns="_o").reset_index(drop=True)


def derived_vocab(search: pd.DataFrame, ties: str, replacement: str) -> dict[str, int]:
    """Setting label -> the vocabulary ``M`` that brings both cells closest to the paper under the rule."""
    b = best_candidates(search)
    b = b[(b["ties"] == ties) & (b["replacement"] == replacement)]
    return dict(zip(b["setting"], b["M"].astype(int)))


# --------------------------------------------------------------------------------------------------
# The model (Eq. 3)


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


def directions(m: int, M: int) -> dict[str, torch.Tensor]:
    """V25's ``v_sp``, ``v_freq`` and ``v_irrel`` ``(M,)``."""
    c = token_classes(m, M)
    v = {k: torch.zeros(M) for k in ("sparse", "frequent", "irrelevant")}
    v["sparse"][c["sparse+"]], v["sparse"][c["sparse-"]] = 1.0, -1.0
    v["frequent"][c["frequent+"]], v["frequent"][c["frequent-"]] = 1.0, -1.0
    v["irrelevant"][c["irrelevant"]] = 1.0
    return v


@torch.no_grad()
def alignment(model: AttentionClassifier, m: int, M: int) -> dict[str, float]:
    """Mean cosine similarity of the rows of ``U W_V^T`` with each of :func:`directions`."""
    rows = model.head_directions()
    return {f"align_{k}": float(F.cosine_similarity(rows, v[None], dim=-1).mean()) for k, v in directions(m, M).items()}


@torch.no_grad()
def attention_mass(model: AttentionClassifier, ids: torch.Tensor, m: int, M: int) -> dict[str, float]:
    """Softmax score summed over the sparse, the frequent and the irrelevant tokens, averaged over queries and inputs."""
    A = model.attention(ids).mean(1)  # (B, T): mean over query positions of each key position's score
    c = token_classes(m, M)
    kinds = {"sparse": torch.cat([c["sparse+"], c["sparse-"]]), "frequent": torch.cat([c["frequent+"], c["frequent-"]]),
             "irrelevant": c["irrelevant"]}  # fmt: skip
    return {f"attn_{k}": float((A * torch.isin(ids, v)).sum(1).mean()) for k, v in kinds.items()}


@torch.no_grad()
def replacement_sensitivity(predict, ids: torch.Tensor, M: int, repeats: int | None, generator: torch.Generator,
                            chunk: int = 4096) -> float:  # fmt: skip
    """V25 Def. 4.1 with P uniform over the vocabulary: the share of (input, position, token) whose sign changes.

    ``predict(ids) -> (B,)`` real outputs. Every position of every input gets ``repeats`` tokens drawn
    uniformly, or, with ``repeats=None``, every token of the vocabulary once (the exact expectation over
    P for these inputs). Vectorised over positions and draws, in chunks. ``sign`` 0 counts as a change.
    """
    B, T = ids.shape
    R = M if repeats is None else repeats
    clean = torch.sign(predict(ids))
    total, changed = B * T * R, 0
    for start in range(0, total, chunk):
        k = torch.arange(start, min(start + chunk, total))
        b, t = k // (T * R), (k // R) % T
        new = k % R if repeats is None else torch.randint(0, M, (len(k),), generator=generator)
        x = ids[b].clone()
        x[torch.arange(len(k)), t] = new
        changed += int((torch.sign(predict(x)) != clean[b]).sum())
    return changed / total

def single_vocab_fit(search: pd.DataFrame) -> pd.DataFrame:
    """For each rule and each ``M`` that holds every setting: the largest error over all cells, best first."""
    n = search["setting"].nunique()
    g = search.groupby(["ties", "replacement", "M"]).agg(settings=("setting", "nunique"), error=("error", "max"))
    return g[g["settings"] == n].drop(columns="settings").sort_values("error").reset_index()
