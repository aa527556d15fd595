"""Chapter 09: the synthetic sparse-vs-frequent task of V25 §4.1 (Def. 4.2, 4.3, Eq. 3, App. D).

The task (Def. 4.2, 4.3: the token sets, the settings ``(n_s, n_f, n_d, m)`` and the data, in and
out of distribution) is :mod:`replication.tasks.synthetic`; the model (Eq. 3) is
:class:`replication.models.attention_classifier.AttentionClassifier`. This module holds what the
chapter computes about them.

Two predictors solve the task: ``sign(#sparse(+1) - #sparse(-1))`` and ``sign(#frequent(+1) -
#frequent(-1))``. Their token-wise sensitivity (V25 Def. 4.1, the token replaced by one drawn
uniformly from the vocabulary) has a closed form, :func:`predictor_sensitivity`. V25 do not state the
vocabulary size ``M``, and a replacement can make a count difference 0, where ``sign`` is 0 and neither
label: :func:`vocabulary_search` finds the ``M`` and the tie rule that give V25's Table 1/3 numbers.

The trained model's alignment with V25's directions ``v_sp``, ``v_freq``, ``v_irrel``, its attention
mass on each token kind and its own token-wise sensitivity are measured at the end of this module.
"""

from __future__ import annotations

import math

import pandas as pd
import torch
import torch.nn.functional as F

from ...checks import check_choice
from ...models.attention_classifier import AttentionClassifier
from ...tasks.synthetic import as_setting, token_classes

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
#: The one rule under which V25's numbers come out (see the chapter): a tie counts as a change, and the
#: replacement is drawn from the whole vocabulary.
TIES, REPLACEMENT = "change", "with_self"
#: Token classes, in the order of :func:`token_classes`.
CLASSES = ("sparse_y", "sparse_other", "frequent_y", "frequent_other", "irrelevant")
#: Largest vocabulary the search tries.
M_SEARCH_MAX = 200
#: V25 print 4 decimals: a value within this of the paper's is reproduced.
ROUNDING = 5e-5


# --------------------------------------------------------------------------------------------------
# Exact sensitivity of the sparse-only and frequent-only predictors (Def. 4.1 with P uniform)


#: The predictors of :func:`predictor_sensitivity`: weights of the (sparse, frequent) count differences.
#: ``sparse_first`` follows the sparse tokens and lets the frequent ones decide only where the sparse
#: count difference is 0 (its frequent weight is below 1 / (n_f + 2), see the function).
PREDICTORS = ("sparse", "frequent", "sparse_first")


def predictor_sensitivity(
    setting, which: str, M: int, T: int = T_PAPER, ties: str = "change", replacement: str = "with_self"
) -> float:
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
    in_seq = {
        "sparse_y": s.n_s,
        "sparse_other": 0,
        "frequent_y": s.a,
        "frequent_other": s.n_f - s.a,
        "irrelevant": T - s.n_f - s.n_s,
    }
    in_vocab = {
        "sparse_y": 1,
        "sparse_other": 1,
        "frequent_y": s.m,
        "frequent_other": s.m,
        "irrelevant": M - 2 * s.m - 2,
    }
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
                    rows.append(
                        {
                            "setting": s.label,
                            "n_s": s.n_s,
                            "n_f": s.n_f,
                            "n_d": s.n_d,
                            "m": s.m,
                            "ties": ties,
                            "replacement": replacement,
                            "M": M,
                            "sparse": sp,
                            "frequent": fr,
                            "paper_sparse": p_sparse,
                            "paper_frequent": p_freq,
                            "error": max(abs(sp - p_sparse), abs(fr - p_freq)),
                        }
                    )
    return pd.DataFrame(rows)


def best_candidates(search: pd.DataFrame) -> pd.DataFrame:
    """Per setting and rule, the vocabulary ``M`` with the smallest error (the smallest such ``M``)."""
    idx = (
        search.sort_values(["error", "M"], kind="stable")
        .groupby(["setting", "ties", "replacement"], sort=False)
        .head(1)
    )
    order = list(dict.fromkeys(search["setting"]))
    out = idx.assign(reproduced=idx["error"] <= ROUNDING, _o=idx["setting"].map(order.index))
    return out.sort_values(["_o", "ties", "replacement"]).drop(columns="_o").reset_index(drop=True)


def derived_vocab(search: pd.DataFrame, ties: str, replacement: str) -> dict[str, int]:
    """Setting label -> the vocabulary ``M`` that brings both cells closest to the paper under the rule."""
    b = best_candidates(search)
    b = b[(b["ties"] == ties) & (b["replacement"] == replacement)]
    return dict(zip(b["setting"], b["M"].astype(int)))


# --------------------------------------------------------------------------------------------------
# What a trained model relies on (Eq. 3)


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
    kinds = {
        "sparse": torch.cat([c["sparse+"], c["sparse-"]]),
        "frequent": torch.cat([c["frequent+"], c["frequent-"]]),
        "irrelevant": c["irrelevant"],
    }
    return {f"attn_{k}": float((A * torch.isin(ids, v)).sum(1).mean()) for k, v in kinds.items()}


@torch.no_grad()
def attention_entropy(model: AttentionClassifier, ids: torch.Tensor) -> float:
    """Mean entropy of the attention rows over query positions and inputs, over its uniform value ``log T``.

    1 is uniform attention; 0 is every query on one key. ``1 -`` this is how far attention moved from uniform.
    """
    A = model.attention(ids)  # (B, T, T)
    H = -(A * torch.log(A.clamp_min(1e-30))).sum(-1)  # (B, T)
    return float(H.mean() / math.log(ids.shape[1]))


@torch.no_grad()
def replacement_sensitivity(
    predict, ids: torch.Tensor, M: int, repeats: int | None, generator: torch.Generator, chunk: int = 4096
) -> float:
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
