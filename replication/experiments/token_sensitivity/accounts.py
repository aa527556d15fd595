"""Chapter 09: two accounts of which token set a model trained on the synthetic task uses, each a function of the
setting alone (V25 §4.1, Def. 4.1-4.3), and the search for settings where they disagree.

**V25's account** (:func:`sensitivity_account`): the model uses the set whose predictor, ``sign`` of that set's count
difference, has the lower token-wise sensitivity (:func:`.task.predictor_sensitivity`, under the tie and replacement
rules the chapter derives from V25's Table 3).

**The margin account** (:func:`margin_account`): with uniform attention, Eq. 3 on one-hot tokens is a linear
classifier on the token counts, ``Φ(X) = w · c(X)`` with ``w`` the column sums of ``U W_V^T`` over ``T``, and gradient
descent on the logistic loss of separable data turns towards the maximum-L2-margin direction. The data of a setting
are symmetric under permuting the frequent tokens of a label and under swapping the labels with their tokens, so the
maximum-margin ``w`` over every sequence the setting can draw is ``α (e_1 - e_2) + β v_freq`` (averaging any feasible
``w`` over the symmetries keeps it feasible and does not raise its norm). Every sequence then has the margin
``α n_s + β d_f`` with ``d_f = 2⌊(n_f + n_d)/2⌋ - n_f``, at the norm ``sqrt(2α² + 2mβ²)``. So the sparse-only
predictor's normalised margin is ``n_s / √2``, the frequent-only one's ``d_f / √(2m)``, and the maximum-margin ``w``
puts ``α ∝ n_s / 2`` and ``β ∝ d_f / (2m)``: on the OOD test set (sparse tokens of the other label) its score has the
sign of ``d_f² / m - n_s²``. It follows the set with the larger normalised margin; they tie where ``n_s² m = d_f²``.
"""

from __future__ import annotations

import math

import pandas as pd

from ...checks import check_int
from ...tasks.synthetic import Setting, as_setting
from . import task as st
from .task import REPLACEMENT, TIES

#: What an account can say: the set it predicts the model uses, or a tie.
OUTCOMES = ("sparse", "frequent", "tie")
#: Largest ``n_s`` the search tries (V25's settings have 1 and 3).
SEARCH_NS = 3


def normalised_margins(setting) -> dict[str, float]:
    """The largest margin over every sequence of ``setting``, per unit L2 norm of the weights on the token counts, of
    a linear predictor that reads only the sparse tokens (``n_s / √2``) and of one that reads only the frequent
    tokens (``d_f / √(2m)``)."""
    s = as_setting(setting)
    return {"sparse": s.n_s / math.sqrt(2), "frequent": s.margin / math.sqrt(2 * s.m)}


def max_margin_weights(setting) -> dict[str, float]:
    """The maximum-margin direction on the token counts, as its weight on each sparse token (``α``, ±) and on each
    frequent token (``β``, ±), normalised to unit L2 norm (see the module)."""
    s = as_setting(setting)
    alpha, beta = s.n_s / 2, s.margin / (2 * s.m)
    norm = math.sqrt(2 * alpha**2 + 2 * s.m * beta**2)
    return {"sparse": alpha / norm, "frequent": beta / norm}


def margin_account(setting) -> str:
    """The token set the maximum-margin linear classifier on token counts relies on: the one whose predictor has the
    larger normalised margin (:func:`normalised_margins`), decided in integers (``n_s² m`` against ``d_f²``)."""
    s = as_setting(setting)
    gap = s.n_s**2 * s.m - s.margin**2
    return "sparse" if gap > 0 else ("frequent" if gap < 0 else "tie")


def sensitivity_account(setting, M: int, T: int = st.T_PAPER) -> str:
    """V25's account: the token set whose predictor has the lower exact sensitivity (Def. 4.1) at vocabulary ``M``."""
    sp = st.predictor_sensitivity(setting, "sparse", M, T, TIES, REPLACEMENT)
    fr = st.predictor_sensitivity(setting, "frequent", M, T, TIES, REPLACEMENT)
    return "sparse" if sp < fr - 1e-12 else ("frequent" if fr < sp - 1e-12 else "tie")


def category(sensitivity: str, margin: str) -> str:
    """How the two accounts relate: ``agree``, ``disagree`` (each names a different set) or ``tie`` (one has none)."""
    if "tie" in (sensitivity, margin):
        return "tie"
    return "agree" if sensitivity == margin else "disagree"


def direction(sensitivity: str, margin: str) -> str:
    """A short name of the pair of predictions, e.g. ``sensitivity frequent, margin sparse``."""
    return f"sensitivity {sensitivity}, margin {margin}"


def setting_row(setting, M: int, T: int = st.T_PAPER) -> dict:
    """Both accounts of one setting at vocabulary ``M``: the numbers each compares and the set each predicts."""
    s = as_setting(setting)
    s.check_length(T, M)
    marg = normalised_margins(s)
    sens = {w: st.predictor_sensitivity(s, w, M, T, TIES, REPLACEMENT) for w in ("sparse", "frequent")}
    by_sens, by_margin = sensitivity_account(s, M, T), margin_account(s)
    return {
        "setting": s.label,
        "n_s": s.n_s,
        "n_f": s.n_f,
        "n_d": s.n_d,
        "m": s.m,
        "M": M,
        "sens_sparse": sens["sparse"],
        "sens_frequent": sens["frequent"],
        "margin_sparse": marg["sparse"],
        "margin_frequent": marg["frequent"],
        "sensitivity": by_sens,
        "margin": by_margin,
        "category": category(by_sens, by_margin),
        "direction": direction(by_sens, by_margin),
        "def_4_2": s.n_s < s.n_f < min(s.m, T - s.n_s),  # V25 Def. 4.2's n_s < n_f < min(m, T - n_s)
    }


def search(T: int = st.T_PAPER, m_max: int = 40, n_s_max: int = SEARCH_NS) -> pd.DataFrame:
    """Both accounts over a grid of settings, each at two vocabularies.

    The grid: ``n_s = 1..n_s_max``; ``n_f = n_s..T - n_s``; ``n_d = 1..n_f`` of the parity of ``n_f`` (then the
    frequent margin ``d_f`` is ``n_d``, and every distinct data distribution appears once); ``m = 1..m_max``. The
    vocabularies: the chapter's rule for a setting outside Table 3 (:func:`.config.vocab_for`: 59, or the smallest that
    holds the setting if that is larger; ``vocab = "chapter"``) and the smallest that holds it (``"smallest"``,
    where the sparse predictor's sensitivity, ``(M + T - 2) / (T M)`` at ``n_s = 1``, is largest but a frequent
    predictor's that ties at ``d_f = 2``, ``a m / (T M)``, grows faster). Other vocabularies are not searched.
    """
    check_int("T", T, 2, 10_000)
    check_int("m_max", m_max, 1, 1000)
    check_int("n_s_max", n_s_max, 1, T // 2)
    rows = []
    for n_s in range(1, n_s_max + 1):
        for n_f in range(n_s, T - n_s + 1):
            for n_d in range(2 - n_f % 2, n_f + 1, 2):
                for m in range(1, m_max + 1):
                    s = Setting(n_s, n_f, n_d, m)
                    small = st.smallest_vocab(s, T)
                    for vocab, M in (("chapter", max(59, small)), ("smallest", small)):
                        rows.append({**setting_row(s, M, T), "vocab": vocab})
    return pd.DataFrame(rows)


def search_summary(found: pd.DataFrame) -> pd.DataFrame:
    """Per vocabulary rule and pair of predictions: how many settings, and for the pairs that disagree the range of
    ``m``, ``n_f`` and ``M`` and how many keep V25 Def. 4.2's ``n_f < m``."""
    g = found.groupby(["vocab", "category", "direction"], sort=True)
    out = g.agg(
        settings=("setting", "size"),
        m_min=("m", "min"),
        m_max=("m", "max"),
        n_f_min=("n_f", "min"),
        n_f_max=("n_f", "max"),
        M_max=("M", "max"),
        def_4_2=("def_4_2", "sum"),
    )
    return out.reset_index()


def probe_accounts(probe_settings, T: int = st.T_PAPER) -> pd.DataFrame:
    """:func:`setting_row` for each ``(n_s, n_f, n_d, m, M)`` of a config's ``probe_settings``, indexed by setting."""
    rows = [setting_row(p[:4], p[4], T) for p in probe_settings]
    if not rows:  # the columns of a row, from the smallest setting there is
        return pd.DataFrame(columns=list(setting_row((1, 1, 1, 1), 4, 2))).set_index("setting")
    return pd.DataFrame(rows).set_index("setting")
