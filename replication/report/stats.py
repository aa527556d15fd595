"""Statistics the chapters share, one copy each: one-sided t-tests over seeds (Welch and paired, with one rule for
ties and zero spread), mean ± sd text and tables, a percentile bootstrap interval, a least-squares slope with its
tests, Spearman's rank correlation with its guards (exact for few pairs, and combined over strata), and the
compute table of a chapter's runs (:func:`compute_summary`, in :mod:`replication.report.cost`)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from .claims import ALPHA, fmt
from .cost import COST, compute_cost, compute_summary  # noqa: F401 (the chapters import them from here)
from .text import DASH

if TYPE_CHECKING:
    pass

_NAN = float("nan")
_ALTERNATIVES = ("less", "greater")


def _finite(values) -> np.ndarray:
    v = np.asarray(pd.Series(values, dtype=float) if isinstance(values, pd.Series) else values, dtype=float).ravel()
    return v[np.isfinite(v)]


def _check_alternative(alternative: str) -> None:
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative: must be one of {list(_ALTERNATIVES)}, got {alternative!r}")


def _zero_spread(effect: float, alternative: str) -> float:
    """The p-value when nothing varies: 0 if ``effect`` lies strictly in the tested direction, 1 otherwise."""
    return 0.0 if (effect < 0 if alternative == "less" else effect > 0) else 1.0


def welch_p(a, b, alternative: str = "less") -> float:
    """One-sided Welch t-test over two independent samples: the p-value that mean(``a``) < mean(``b``)
    (``alternative="less"``) or > (``"greater"``). Non-finite values are left out.

    The rule for ties and zero spread (every one-sided test of the book follows it): fewer than 2 finite values
    in either sample give NaN (no test); both samples without spread give 0 if the first mean lies strictly in
    the tested direction of the second and 1 otherwise (a tie never supports a claim); otherwise scipy's Welch
    test (one sample without spread is a valid Welch test).
    """
    _check_alternative(alternative)
    a, b = _finite(a), _finite(b)
    if len(a) < 2 or len(b) < 2:
        return _NAN
    if a.std() == 0 and b.std() == 0:
        return _zero_spread(float(a.mean() - b.mean()), alternative)
    return float(stats.ttest_ind(a, b, equal_var=False, alternative=alternative).pvalue)


def paired_p(a, b=None, alternative: str = "less", null: float = 0.0) -> float:
    """One-sided paired t-test: the p-value that the mean of the differences ``a - b`` is below ``null``
    (``alternative="less"``) or above it (``"greater"``); with ``b`` None, ``a`` are the differences (a one-sample
    test against ``null``).

    Two Series are paired on their common index (seeds); arrays by position. A pair with a non-finite side is
    left out. The rule of :func:`welch_p` for ties and zero spread: fewer than 2 finite differences give NaN;
    differences without spread give 0 if they lie strictly in the tested direction of ``null`` and 1 otherwise
    (all differences equal to ``null``: 1).
    """
    _check_alternative(alternative)
    if b is None:
        d = _finite(a)
    elif isinstance(a, pd.Series) and isinstance(b, pd.Series):
        j = a.index.intersection(b.index)
        d = _finite(a[j].astype(float) - b[j].astype(float))
    else:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if a.shape != b.shape:
            raise ValueError(f"b: must pair with a, got shapes {a.shape} and {b.shape}")
        d = _finite(a - b)
    if len(d) < 2:
        return _NAN
    if d.std() == 0:
        return _zero_spread(float(d.mean() - null), alternative)
    return float(stats.ttest_1samp(d, null, alternative=alternative).pvalue)


def mean_sd(values) -> str:
    """``"mean ± sd"`` of ``values`` (pandas' mean and sd with ddof 1, NaN skipped), each formatted by
    :func:`~replication.report.claims.fmt`; the sd is "–" with fewer than 2 values."""
    s = pd.Series(values, dtype=float)
    return f"{fmt(s.mean())} ± {fmt(s.std(ddof=1)) if len(s) > 1 else '–'}"


def mean_sd_table(
    df: pd.DataFrame,
    by: str | list[str],
    cols: list[str],
    *,
    digits: int = 4,
    sd_digits: int | None = None,
    significant: bool = False,
    sort: bool = False,
    seeds: str | None = "seeds",
    fill: float | None = 0.0,
) -> pd.DataFrame:
    """Mean ± sd (ddof 1) of ``cols`` per group of ``by``, as text: each cell ``"mean ± sd"``.

    ``significant=False`` rounds both to ``digits`` decimals (``str`` of the rounded float); ``True`` writes the
    mean with ``digits`` and the sd with ``sd_digits`` (default ``digits``) significant digits. ``fill`` replaces
    an sd that pandas cannot compute (one value per group; None keeps it NaN); a group whose values are all missing
    shows "—". ``seeds`` names a first column with
    the size of each group (None: none); ``sort`` sorts the groups.
    """
    g = df.groupby(by, sort=sort)[cols]
    sd = g.std(ddof=1)
    sd = sd if fill is None else sd.fillna(fill)
    if significant:
        sdd = digits if sd_digits is None else sd_digits
        out = g.mean().map(lambda v: f"{v:.{digits}g}") + " ± " + sd.map(lambda v: f"{v:.{sdd}g}")
    else:
        out = g.mean().round(digits).astype(str) + " ± " + sd.round(digits).astype(str)
    out = out.mask(g.mean().isna(), DASH)  # a mean of nothing (every value missing) is not measured
    if seeds is not None:
        out.insert(0, seeds, g.size())
    return out


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
