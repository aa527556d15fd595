"""Chapter 06's statistic: where the kept runs sit in (parameter norm, log blowup) as n grows.

Per function, a least-squares fit of log blowup on parameter norm and n over the kept runs
(:func:`n_effect`); the coefficient of n, with its two-sided t-test, says whether at matched norm the
blowup rises with n. :func:`parity_offset` measures how far PARITY sits above the other functions' line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def ols(y, X) -> tuple[np.ndarray, np.ndarray, int]:
    """Least squares ``y ≈ X b``: coefficients, their standard errors, residual degrees of freedom."""
    y, X = np.asarray(y, dtype=float), np.asarray(X, dtype=float)
    b, *_ = np.linalg.lstsq(X, y, rcond=None)
    dof = len(y) - X.shape[1]
    resid = y - X @ b
    sigma2 = resid @ resid / dof if dof > 0 else np.nan
    se = np.sqrt(np.diag(sigma2 * np.linalg.pinv(X.T @ X)))
    return b, se, dof


def n_effect(df: pd.DataFrame, y: str = "log_mean_blowup", x: str = "param_norm") -> pd.DataFrame:
    """Per function, ``y ~ a + b·x + c·n`` over the kept runs: ``c`` (the effect of n at matched ``x``), its
    standard error, t and two-sided p (t distribution, runs − 3 degrees of freedom), ``b``, and the runs and
    lengths used. A function with fewer than 4 kept runs or a single length gets NaN statistics."""
    rows = []
    for f, g in df[df["kept"].astype(bool)].groupby("function", sort=False):
        row = {"function": f, "runs": len(g), "lengths": g["n"].nunique()}
        if len(g) >= 4 and g["n"].nunique() >= 2:
            X = np.column_stack([np.ones(len(g)), g[x], g["n"]])
            b, se, dof = ols(g[y], X)
            t = b[2] / se[2] if se[2] > 0 else np.nan
            row.update(coef_n=b[2], se_n=se[2], t_n=t, p_n=float(2 * stats.t.sf(abs(t), dof)), coef_norm=b[1])
        else:
            row.update(coef_n=np.nan, se_n=np.nan, t_n=np.nan, p_n=np.nan, coef_norm=np.nan)
        rows.append(row)
    cols = ["function", "coef_n", "se_n", "t_n", "p_n", "coef_norm", "runs", "lengths"]
    return pd.DataFrame(rows, columns=cols)


def parity_offset(df: pd.DataFrame, y: str = "log_mean_blowup", x: str = "param_norm") -> pd.DataFrame:
    """How far PARITY sits above the other functions at matched norm, per PARITY length.

    A line ``y ~ a + b·x`` is fitted to the other functions' kept runs (all lengths); each kept PARITY run's
    residual from it is its offset. Per length: the mean offset, the others' residual spread, and a
    two-sided Mann-Whitney p-value of PARITY's residuals against the others'.
    """
    ok = df[df["kept"].astype(bool)]
    others, par = ok[ok["function"] != "parity"], ok[ok["function"] == "parity"]
    if len(others) < 3 or not len(par):
        return pd.DataFrame(columns=["n", "runs", "offset", "others_sd", "p"])
    b, _, _ = ols(others[y], np.column_stack([np.ones(len(others)), others[x]]))
    res_o = others[y] - (b[0] + b[1] * others[x])
    rows = []
    for n, g in par.groupby("n"):
        r = g[y] - (b[0] + b[1] * g[x])
        p = stats.mannwhitneyu(r, res_o, alternative="two-sided").pvalue if len(g) >= 2 else np.nan
        rows.append({"n": n, "runs": len(g), "offset": float(r.mean()), "others_sd": float(res_o.std()), "p": float(p)})
    return pd.DataFrame(rows)


def pooled_interaction(df: pd.DataFrame, y: str = "log_mean_blowup", x: str = "param_norm") -> dict:
    """PARITY's extra n-slope over the other functions, from one fit over every kept run:
    ``y ~ a_f + b_f·x + c·n + d·n·[PARITY]`` (an intercept and a norm slope per function, one n-slope shared by
    the others, ``d`` PARITY's excess). Returns ``d`` with its standard error, t, two-sided p (t distribution),
    the shared slope ``c`` and the runs used; NaN statistics without PARITY, another function, or two lengths
    of each."""
    ok = df[df["kept"].astype(bool)]
    fs = list(dict.fromkeys(ok["function"]))
    out = {"extra": np.nan, "se": np.nan, "t": np.nan, "p": np.nan, "others_slope": np.nan, "runs": len(ok)}
    par, rest = ok[ok["function"] == "parity"], ok[ok["function"] != "parity"]
    if par["n"].nunique() < 2 or rest["n"].nunique() < 2 or len(ok) < 2 * len(fs) + 3:
        return out
    cols = [(ok["function"] == f).astype(float) for f in fs] + [(ok["function"] == f) * ok[x] for f in fs]
    is_par = (ok["function"] == "parity").astype(float)
    X = np.column_stack(cols + [ok["n"].astype(float), ok["n"] * is_par])
    b, se, dof = ols(ok[y], X)
    t = b[-1] / se[-1] if se[-1] > 0 else np.nan
    out.update(
        extra=float(b[-1]),
        se=float(se[-1]),
        t=float(t),
        p=float(2 * stats.t.sf(abs(t), dof)),
        others_slope=float(b[-2]),
        dof=int(dof),
    )
    return out


def equivalence(eff: pd.DataFrame, bound: float, level: float = 0.90) -> pd.DataFrame:
    """Two one-sided tests per function of :func:`n_effect`'s table: is the coefficient of n within ±``bound``?
    The ``level`` interval (t distribution, runs − 3 degrees of freedom; 90 % for a 5 % TOST) and whether it
    lies inside the bound."""
    rows = []
    for f, r in eff.iterrows():
        dof = int(r["runs"]) - 3
        if not np.isfinite(r["coef_n"]) or dof < 1 or not np.isfinite(bound):
            rows.append({"function": f, "lo": np.nan, "hi": np.nan, "bound": bound, "equivalent": False})
            continue
        q = stats.t.ppf(0.5 + level / 2, dof)
        lo, hi = r["coef_n"] - q * r["se_n"], r["coef_n"] + q * r["se_n"]
        rows.append(
            {
                "function": f,
                "lo": float(lo),
                "hi": float(hi),
                "bound": float(bound),
                "equivalent": bool(-bound < lo and hi < bound),
            }
        )
    return pd.DataFrame(rows, columns=["function", "lo", "hi", "bound", "equivalent"])


def interaction_table(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`pooled_interaction` as a one-row table for display."""
    return pd.DataFrame([pooled_interaction(df)])


#: The equivalence bound of the other functions' n-coefficient, as a share of PARITY's own: an effect of n
#: under half of PARITY's cannot make a frontier move out as PARITY's does.
EQUIVALENCE_SHARE = 0.5


def parity_bound(eff: pd.DataFrame, share: float = EQUIVALENCE_SHARE) -> float:
    """``share`` × |PARITY's n-coefficient| in :func:`n_effect`'s table (indexed by function); NaN without it."""
    return share * abs(eff.loc["parity", "coef_n"]) if "parity" in eff.index else np.nan


def equivalence_table(df: pd.DataFrame, share: float = EQUIVALENCE_SHARE) -> pd.DataFrame:
    """:func:`equivalence` of every function but PARITY, the bound :func:`parity_bound`."""
    eff = n_effect(df).set_index("function")
    return equivalence(eff.drop(index="parity", errors="ignore"), parity_bound(eff, share))
