"""Statistics the chapters share, one copy each: a percentile bootstrap interval, a least-squares slope with
its tests, Spearman's rank correlation with its guards (exact for few pairs, and combined over strata), and the compute-cost table of a chapter's runs."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from .claims import ALPHA

if TYPE_CHECKING:
    from pandas.core.groupby import DataFrameGroupBy

_NAN = float("nan")


def bootstrap_ci(
    values, stat: Callable = np.mean, *, alpha: float = ALPHA, reps: int = 2000, seed: int = 0, min_size: int = 2
) -> tuple[float, float, float]:
    """``(estimate, lo, hi)``: ``stat(values)`` and its percentile bootstrap interval at level ``1 - alpha``.

    ``reps`` resamples of ``values`` with replacement are drawn at once from ``default_rng(seed)`` (the same
    draws as one resample at a time); ``stat`` must take ``axis`` (``np.mean``, ``np.median``, ...). The ends
    are the ``alpha / 2`` and ``1 - alpha / 2`` quantiles of the resampled statistics (linear interpolation).
    With fewer than ``min_size`` values the interval is NaN (and the estimate too when there are none).
    The level is given as ``alpha`` rather than a level so that ``alpha / 2`` is exactly the tail probability.
    """
    v = np.asarray(values, dtype=float)
    est = float(stat(v)) if len(v) else _NAN
    if len(v) < max(min_size, 1):
        return est, _NAN, _NAN
    draws = stat(v[np.random.default_rng(seed).integers(0, len(v), (reps, len(v)))], axis=1)
    return est, float(np.quantile(draws, alpha / 2)), float(np.quantile(draws, 1 - alpha / 2))


def linear_fit(x, y, *, alpha: float = ALPHA) -> dict:
    """Least-squares line of ``y`` on ``x`` (``scipy.stats.linregress``): ``slope``, its standard error ``se``
    and ``1 - alpha`` interval ``lo``–``hi`` (t distribution, points − 2 degrees of freedom), ``intercept``,
    Pearson ``r``, the two-sided p-value ``p`` for slope 0 and the one-sided ``p_up`` for a slope above 0, and
    ``points``. Fewer than 3 points or a single ``x`` give NaN statistics."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    out = dict.fromkeys(["slope", "se", "lo", "hi", "intercept", "r", "p", "p_up"], _NAN) | {"points": len(x)}
    if len(x) < 3 or len(np.unique(x)) < 2:
        return out
    r = stats.linregress(x, y)
    t = stats.t.ppf(1 - alpha / 2, len(x) - 2)
    p_up = r.pvalue / 2 if r.slope > 0 else 1 - r.pvalue / 2
    return out | {
        "slope": r.slope,
        "se": r.stderr,
        "lo": r.slope - t * r.stderr,
        "hi": r.slope + t * r.stderr,
        "intercept": r.intercept,
        "r": r.rvalue,
        "p": r.pvalue,
        "p_up": p_up,
    }


def spearman(a, b, alternative: str = "two-sided") -> tuple[float, float]:
    """Spearman's rank correlation and its p-value (``alternative`` as in scipy); NaN for both with fewer than
    3 pairs or when either side is constant."""
    a, b = pd.Series(a, dtype=float), pd.Series(b, dtype=float)
    if len(a) < 3 or a.nunique() < 2 or b.nunique() < 2:
        return _NAN, _NAN
    r = stats.spearmanr(a, b, alternative=alternative)
    return float(r[0]), float(r[1])


#: Up to this many pairs :func:`rank_correlation` and :func:`critical_rho` enumerate every permutation (9! = 362,880).
EXACT_RUNS = 9


def _permutation_rhos(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Spearman's ρ of the ranks ``rx`` against every permutation of the ranks ``ry`` (ties kept, as mid-ranks):
    the exact null distribution of ρ for these ranks."""
    perms = np.array(list(itertools.permutations(ry)), dtype=float)
    dp, dx = perms - perms.mean(1, keepdims=True), rx - rx.mean()
    return (dp * dx).sum(1) / (np.sqrt((dp**2).sum(1)) * np.sqrt((dx**2).sum()))


def rank_correlation(a, b) -> tuple[float, float, int]:
    """Spearman's ρ of the finite pairs of ``a`` and ``b``, its one-sided p-value for ρ > 0 (exact, over every
    permutation of the ranks, up to :data:`EXACT_RUNS` pairs; scipy's above) and the number of pairs."""
    x, y = pd.Series(a, dtype=float).to_numpy(), pd.Series(b, dtype=float).to_numpy()
    ok = np.isfinite(x) & np.isfinite(y)
    x, y, n = x[ok], y[ok], int(ok.sum())
    if n > EXACT_RUNS:
        return (*spearman(x, y, alternative="greater"), n)
    if n < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return _NAN, _NAN, n
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    rho = float(np.corrcoef(rx, ry)[0, 1])
    return rho, float((_permutation_rhos(rx, ry) >= rho - 1e-12).mean()), n


def critical_rho(n: int, alpha: float = ALPHA) -> float:
    """The smallest Spearman ρ (untied ranks) with one-sided p < ``alpha`` over ``n`` pairs: exact up to
    :data:`EXACT_RUNS` pairs (the same null as :func:`rank_correlation`), scipy's t approximation above."""
    if n < 3:
        return _NAN
    if n <= EXACT_RUNS:
        r = np.arange(n, dtype=float)
        null = _permutation_rhos(r, r)
        ok = [v for v in np.unique(null) if (null >= v - 1e-12).mean() < alpha]
        return float(min(ok)) if ok else _NAN
    t = stats.t.ppf(1 - alpha, n - 2)
    return float(t / np.sqrt(n - 2 + t**2))


def stratified_spearman(df: pd.DataFrame, x: str, y: str, by: str) -> dict:
    """Spearman's rank correlation of ``y`` with ``x`` within each stratum of ``by`` (runs of one protocol),
    combined across strata without pooling them: ``rho`` and two-sided ``p`` of the combined test, ``strata``
    used and ``points`` in them.

    Each stratum's ρ is Fisher-transformed, ``z = atanh(ρ)``, whose standard error for Spearman's ρ is
    ``sqrt(1.06 / (m - 3))`` over ``m`` points (Fieller, Hartley & Pearson 1957); the strata's z are averaged
    with inverse-variance weights ``(m - 3) / 1.06``, and the mean divided by its standard error is the test
    statistic (normal). ``rho`` is ``tanh`` of the weighted mean. A stratum with fewer than 4 points, or with a
    constant ``x`` or ``y``, carries no information and is left out; with none left every statistic is NaN.
    """
    zs, ws, points = [], [], 0
    for _, g in df.groupby(by, sort=True):
        r, _p = spearman(g[x], g[y])
        if len(g) < 4 or not np.isfinite(r):
            continue
        zs.append(np.arctanh(np.clip(r, -0.999999, 0.999999)))
        ws.append((len(g) - 3) / 1.06)
        points += len(g)
    if not zs:
        return {"rho": _NAN, "p": _NAN, "strata": 0, "points": 0}
    zs, ws = np.asarray(zs), np.asarray(ws)
    mean = float((ws * zs).sum() / ws.sum())
    stat = mean * np.sqrt(ws.sum())
    return {"rho": float(np.tanh(mean)), "p": float(2 * stats.norm.sf(abs(stat))), "strata": len(zs), "points": points}


def compute_cost(
    parts: Mapping[str, pd.DataFrame] | DataFrameGroupBy,
    index: str | None = None,
    seconds: str = "train_seconds",
    digits: int | None = 1,
) -> pd.DataFrame:
    """The compute table of a chapter: per part, ``runs`` and the ``seconds`` column's total (``train_seconds``),
    mean (``per_run``) and maximum (``longest``), as recorded when each run was computed, rounded to ``digits``
    (None: not rounded).

    ``parts`` is a mapping of names to frames (the index is then named ``index``) or a ``groupby`` of one frame
    (indexed by its keys).
    """
    if isinstance(parts, Mapping):
        rows = [
            {
                index: name,
                "runs": len(t),
                "train_seconds": t[seconds].sum(),
                "per_run": t[seconds].mean(),
                "longest": t[seconds].max(),
            }
            for name, t in parts.items()
        ]
        out = pd.DataFrame(rows, columns=[index, "runs", "train_seconds", "per_run", "longest"]).set_index(index)
    else:
        g = parts[seconds]
        out = pd.DataFrame({"runs": g.size(), "train_seconds": g.sum(), "per_run": g.mean(), "longest": g.max()})
    return out if digits is None else out.round(digits)


def dependent_correlations(r_ya: float, r_yb: float, r_ab: float, n: int) -> tuple[float, float]:
    """Williams's t for two correlations that share a variable: is ``r_ya`` larger than ``r_yb``, where ``a`` and
    ``b`` correlate ``r_ab`` with each other over the same ``n`` cases (Steiger 1980, Psychol. Bull. 87, Eq. 3;
    Williams 1959). Returns ``(t, one-sided p)`` on ``n - 3`` degrees of freedom; nan with ``n < 4``.

    With Spearman coefficients in place of Pearson ones (ranks in place of values) the test is the usual
    large-sample approximation; with few runs it is approximate."""
    if n < 4 or not all(np.isfinite([r_ya, r_yb, r_ab])):
        return _NAN, _NAN
    det = 1 - r_ya**2 - r_yb**2 - r_ab**2 + 2 * r_ya * r_yb * r_ab  # |R| of the 3 x 3 correlation matrix
    mean = (r_ya + r_yb) / 2
    denom = 2 * (n - 1) / (n - 3) * det + mean**2 * (1 - r_ab) ** 3
    if denom <= 0:
        return _NAN, _NAN
    t = (r_ya - r_yb) * np.sqrt((n - 1) * (1 + r_ab) / denom)
    return float(t), float(stats.t.sf(t, n - 3))


def runs_for_dependent_correlations(
    r_ya: float, r_yb: float, r_ab: float, alpha: float = ALPHA, power: float = 0.8, most: int = 10_000
) -> int | None:
    """The fewest runs at which :func:`dependent_correlations` is expected to show ``r_ya > r_yb`` with one-sided
    p < ``alpha`` in a share ``power`` of repetitions, taking the three correlations as the true ones: the first
    ``n`` whose t reaches the critical t plus the normal quantile of ``power``. None if none up to ``most`` does
    (or ``r_ya <= r_yb``)."""
    if not all(np.isfinite([r_ya, r_yb, r_ab])) or r_ya <= r_yb:
        return None
    z = stats.norm.ppf(power)
    for n in range(5, most + 1):
        t, _ = dependent_correlations(r_ya, r_yb, r_ab, n)
        if np.isfinite(t) and t >= stats.t.ppf(1 - alpha, n - 3) + z:
            return n
    return None
