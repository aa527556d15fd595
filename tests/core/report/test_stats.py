"""The shared statistics of ``replication.report.stats`` against direct computations on fixed data.

The two bootstrap formulas the chapters used before there was one copy (chapter 09: the mean's interval at
level 1 - ALPHA from one matrix of resamples; chapter 07: a resample at a time, 2.5 and 97.5 percentiles) are
written out here, so the shared function is checked to reproduce both bit for bit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from replication.report.claims import ALPHA
from replication.report.stats import bootstrap_ci, compute_cost, linear_fit, spearman, stratified_spearman


def _chapter09(values, seed=0, reps=10_000):
    v = np.asarray(values, dtype=float)
    means = np.random.default_rng(seed).choice(v, size=(reps, len(v))).mean(1)
    return float(v.mean()), float(np.quantile(means, ALPHA / 2)), float(np.quantile(means, 1 - ALPHA / 2))


def _chapter07(values, stat=np.mean, reps=2000, seed=0):
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = [stat(v[rng.integers(0, len(v), len(v))]) for _ in range(reps)]
    return float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


SAMPLES = [np.random.default_rng(s).lognormal(size=n) for s, n in [(0, 2), (1, 3), (2, 5), (3, 7), (4, 20), (5, 101)]]


@pytest.mark.parametrize("v", SAMPLES, ids=lambda v: f"n{len(v)}")
@pytest.mark.parametrize("seed", [0, 3])
def test_bootstrap_reproduces_chapter09_bit_for_bit(v, seed):
    assert bootstrap_ci(v, reps=10_000, seed=seed, min_size=1) == _chapter09(v, seed)


@pytest.mark.parametrize("v", SAMPLES, ids=lambda v: f"n{len(v)}")
@pytest.mark.parametrize("stat", [np.mean, np.median], ids=["mean", "median"])
def test_bootstrap_reproduces_chapter07_bit_for_bit(v, stat):
    assert bootstrap_ci(np.log(v), stat)[1:] == _chapter07(np.log(v), stat)
    assert bootstrap_ci(v, stat, seed=5, reps=300)[1:] == _chapter07(v, stat, reps=300, seed=5)


def test_bootstrap_estimate_small_samples_and_level():
    v = [1.0, 2.0, 4.0, 8.0]
    est, lo, hi = bootstrap_ci(v, reps=4000)
    assert est == 3.75 and 1.0 <= lo < est < hi <= 8.0
    _, lo50, hi50 = bootstrap_ci(v, reps=4000, alpha=0.5)
    assert lo < lo50 < hi50 < hi  # a lower level, a narrower interval
    assert bootstrap_ci([2.0])[0] == 2.0 and np.isnan(bootstrap_ci([2.0])[1:]).all()
    assert bootstrap_ci([2.0], min_size=1) == (2.0, 2.0, 2.0)
    assert np.isnan(bootstrap_ci([])).all()
    assert bootstrap_ci(SAMPLES[4], seed=1)[1:] != bootstrap_ci(SAMPLES[4], seed=2)[1:]


def test_linear_fit_matches_linregress_and_its_t_interval():
    x = np.array([4, 4, 8, 8, 12, 12, 16], dtype=float)
    y = 0.5 * x + np.array([0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.1])
    out, r = linear_fit(x, y), stats.linregress(x, y)
    t = stats.t.ppf(0.975, len(x) - 2)
    assert out["slope"] == r.slope and out["se"] == r.stderr and out["p"] == r.pvalue and out["r"] == r.rvalue
    assert out["lo"] == r.slope - t * r.stderr and out["hi"] == r.slope + t * r.stderr and out["points"] == 7
    assert out["p_up"] == r.pvalue / 2 and linear_fit(x, -y)["p_up"] == 1 - r.pvalue / 2
    assert linear_fit(pd.Series(x), pd.Series(y)) == out
    assert np.isnan(linear_fit([4, 4, 4], [1, 2, 3])["slope"])  # a single x
    assert np.isnan(linear_fit([4, 8], [1, 2])["slope"]) and linear_fit([4, 8], [1, 2])["points"] == 2


def test_spearman_and_its_guards():
    a, b = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
    r = stats.spearmanr(a, b)
    assert spearman(a, b) == (float(r[0]), float(r[1]))
    assert spearman(a, b, "greater")[1] == pytest.approx(stats.spearmanr(a, b, alternative="greater")[1])
    assert spearman(a, b, "greater")[1] < spearman(a, b)[1]
    assert all(np.isnan(spearman(a[:2], b[:2])))
    assert all(np.isnan(spearman(a, [1] * 5)))


def test_stratified_spearman_is_fisher_z_per_stratum_combined():
    # One stratum: the Fisher z of its rho over its standard error sqrt(1.06 / (m - 3)), normal two-sided p.
    a = pd.DataFrame({"n": [1, 2, 3, 4, 5, 6, 7], "y": [1, 3, 2, 5, 4, 7, 6], "s": 0})
    rho = stats.spearmanr(a["n"], a["y"])[0]
    one = stratified_spearman(a, "n", "y", "s")
    assert one["rho"] == pytest.approx(rho) and one["strata"] == 1 and one["points"] == 7
    assert one["p"] == pytest.approx(2 * stats.norm.sf(np.arctanh(rho) / np.sqrt(1.06 / 4)))
    # Two copies of that stratum: the same rho, the statistic sqrt(2) times larger.
    two = stratified_spearman(pd.concat([a, a.assign(s=1, y=a["y"] * 100)]), "n", "y", "s")
    assert two["rho"] == pytest.approx(rho) and two["strata"] == 2
    assert two["p"] == pytest.approx(2 * stats.norm.sf(np.sqrt(2) * np.arctanh(rho) / np.sqrt(1.06 / 4)))
    # A shift between strata does not enter (the pooled rank correlation would see it); small strata drop out.
    shifted = pd.concat([a, a.assign(s=1, n=a["n"] + 100, y=a["y"] - 100)])
    assert stratified_spearman(shifted, "n", "y", "s")["rho"] == pytest.approx(rho)
    assert stats.spearmanr(shifted["n"], shifted["y"])[0] < 0
    assert stratified_spearman(a.head(3), "n", "y", "s")["strata"] == 0
    assert np.isnan(stratified_spearman(a.head(3), "n", "y", "s")["p"])


def test_compute_cost_from_parts_and_from_a_groupby():
    df = pd.DataFrame({"model": ["a", "a", "b"], "train_seconds": [1.04, 2.0, 10.0]})
    by_dict = compute_cost({"first": df[df["model"] == "a"], "all": df}, "part")
    assert by_dict.index.name == "part" and list(by_dict.columns) == ["runs", "train_seconds", "per_run", "longest"]
    assert by_dict.loc["first"].tolist() == [2, 3.0, 1.5, 2.0] and by_dict.loc["all", "train_seconds"] == 13.0
    by_group = compute_cost(df.groupby("model", sort=False), digits=None)
    assert by_group.index.name == "model" and by_group.loc["a", "train_seconds"] == 3.04
    assert by_group.loc["b"].tolist() == [1, 10.0, 10.0, 10.0]


def test_exact_rank_correlation_and_its_critical_value():
    from replication.report.stats import critical_rho, rank_correlation

    rho, p, n = rank_correlation([1, 2, 3, 4], [10, 20, 30, 40])
    assert (rho, n) == (1.0, 4) and p == pytest.approx(1 / 24)  # one permutation of 4! reaches ρ = 1
    rho, p, n = rank_correlation([1, 2, 3, 4, float("nan")], [40, 30, 20, 10, 5])
    assert rho == -1.0 and p == 1.0 and n == 4
    assert critical_rho(8) == pytest.approx(0.643, abs=1e-3) and critical_rho(2) != critical_rho(2)  # nan
    assert rank_correlation([1, 1, 2, 3], [1, 2, 3, 4])[1] < 1  # ties are ranked as mid-ranks, not dropped
