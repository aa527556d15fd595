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
from replication.report.stats import (
    bootstrap_ci,
    compute_cost,
    compute_summary,
    linear_fit,
    mean_sd,
    mean_sd_table,
    paired_p,
    spearman,
    stratified_spearman,
    welch_p,
)


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


def _trivariate(r_ya, r_yb, r_ab, n, reps, seed=0):
    """``reps`` samples of n cases of (y, a, b) with the given correlations; their sample correlations."""
    cov = np.array([[1, r_ya, r_yb], [r_ya, 1, r_ab], [r_yb, r_ab, 1]])
    x = np.random.default_rng(seed).multivariate_normal(np.zeros(3), cov, size=(reps, n))
    z = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
    r = lambda i, j: (z[..., i] * z[..., j]).mean(axis=1)  # noqa: E731
    return r(0, 1), r(0, 2), r(1, 2)


def test_dependent_correlations_keeps_its_size_and_finds_a_real_difference():
    from replication.report.stats import dependent_correlations

    # equal true correlations: one-sided rejections at about alpha
    ya, yb, ab = _trivariate(0.6, 0.6, 0.5, n=30, reps=3000)
    p = np.array([dependent_correlations(*r, 30)[1] for r in zip(ya, yb, ab)])
    assert 0.035 <= (p < 0.05).mean() <= 0.065
    # a real difference, and the two predictors correlated: mostly found
    ya, yb, ab = _trivariate(0.8, 0.5, 0.6, n=60, reps=500, seed=1)
    p = np.array([dependent_correlations(*r, 60)[1] for r in zip(ya, yb, ab)])
    assert (p < 0.05).mean() > 0.9
    assert np.isnan(dependent_correlations(0.9, 0.8, 0.9, 3)[0])


def test_runs_for_dependent_correlations_gives_the_power_it_promises():
    from replication.report.stats import dependent_correlations, runs_for_dependent_correlations

    n = runs_for_dependent_correlations(0.7, 0.5, 0.6)
    assert n is not None and 20 < n < 200
    ya, yb, ab = _trivariate(0.7, 0.5, 0.6, n=n, reps=1500, seed=2)
    power = (np.array([dependent_correlations(*r, n)[1] for r in zip(ya, yb, ab)]) < 0.05).mean()
    assert 0.7 <= power <= 0.9
    # more correlated predictors make the same difference easier to see
    assert runs_for_dependent_correlations(0.7, 0.5, 0.9) < n
    assert runs_for_dependent_correlations(0.5, 0.7, 0.6) is None


# --------------------------------------------------------------------------------------------------
# One-sided t-tests and their rule for ties and zero spread


def test_welch_p_is_scipys_welch_test_on_the_finite_values():
    a, b = [0.01, 0.012, 0.011, float("nan")], [0.05, 0.06, 0.055]
    ref = stats.ttest_ind([0.01, 0.012, 0.011], b, equal_var=False, alternative="less").pvalue
    assert welch_p(a, b) == pytest.approx(ref, rel=1e-12) and welch_p(a, b) < 0.01
    assert welch_p(b, a) > 0.99 and welch_p(b, a, alternative="greater") == pytest.approx(ref, rel=1e-12)
    # one sample without spread is still a Welch test
    assert (
        welch_p([1.0, 1.0], [2.0, 3.0, 4.0])
        == stats.ttest_ind([1, 1], [2, 3, 4], equal_var=False, alternative="less").pvalue
    )


def test_welch_p_zero_spread_and_too_few_values():
    assert welch_p([0.0, 0.0], [1.0, 1.0]) == 0.0  # strictly lower, no spread: as certain as it gets
    assert welch_p([1.0, 1.0], [0.0, 0.0]) == 1.0  # strictly higher
    assert welch_p([0.0, 0.0, 0.0], [0.0, 0.0]) == 1.0  # a tie never supports the claim
    assert welch_p([1.0, 1.0], [0.0, 0.0], alternative="greater") == 0.0
    assert np.isnan(welch_p([1.0], [2.0, 3.0])) and np.isnan(welch_p([1.0, float("nan")], [2.0, 3.0]))
    with pytest.raises(ValueError, match="alternative"):
        welch_p([1, 2], [3, 4], alternative="two-sided")


def test_paired_p_pairs_series_by_index_and_follows_the_same_rule():
    a, b = pd.Series([1.0, 2.0, 3.0, 9.0], index=[0, 1, 2, 7]), pd.Series([1.5, 2.6, 3.4], index=[0, 1, 2])
    ref = stats.ttest_1samp([-0.5, -0.6, -0.4], 0.0, alternative="less").pvalue
    assert paired_p(a, b) == pytest.approx(ref, rel=1e-12)  # seed 7 has no partner: left out
    assert paired_p(b, a) > 0.95 and paired_p(b, a, alternative="greater") == pytest.approx(ref, rel=1e-12)
    assert paired_p(np.array([-0.5, -0.6, -0.4])) == pytest.approx(ref, rel=1e-12)  # differences given
    assert paired_p([1.0, 2.0], [1.5, 2.5]) == 0.0  # every difference -0.5, no spread
    assert paired_p([1.0, 2.0], [1.0, 2.0]) == 1.0  # all differences zero
    assert paired_p([2.0, 3.0], [1.0, 2.0]) == 1.0 and paired_p([2.0, 3.0], [1.0, 2.0], alternative="greater") == 0.0
    assert paired_p([0.5, 0.5], null=0.5) == 1.0 and paired_p([0.4, 0.4], null=0.5) == 0.0
    assert np.isnan(paired_p(a[:1], b[:1])) and np.isnan(paired_p([1.0, float("nan")], [0.0, 0.0]))
    with pytest.raises(ValueError, match="b: must pair"):
        paired_p([1.0, 2.0], [1.0])


def test_mean_sd_text_and_table():
    assert mean_sd([1.0, 2.0, 3.0]) == "2 ± 1" and mean_sd(pd.Series([0.5])) == "0.5 ± –"
    df = pd.DataFrame({"m": ["b", "b", "a"], "x": [1.0, 2.0, 0.123456], "y": [0.0, 1.0, 2.0]})
    t = mean_sd_table(df, "m", ["x", "y"])
    assert list(t.index) == ["b", "a"] and list(t.columns) == ["seeds", "x", "y"]
    assert t.loc["b", "x"] == "1.5 ± 0.7071" and t.loc["a", "x"] == "0.1235 ± 0.0" and t.loc["b", "seeds"] == 2
    sig = mean_sd_table(df, "m", ["x"], significant=True, sd_digits=2, sort=True, seeds=None)
    assert list(sig.index) == ["a", "b"] and sig.loc["b", "x"] == "1.5 ± 0.71" and sig.loc["a", "x"] == "0.1235 ± 0"
    assert pd.isna(mean_sd_table(df, "m", ["x"], fill=None).loc["a", "x"])  # no sd: no cell, as pandas writes it
    gap = df.assign(y=[float("nan"), float("nan"), 2.0])  # every y of group b missing: not measured, not "nan ± 0"
    assert (
        mean_sd_table(gap, "m", ["y"]).loc["b", "y"] == "—"
        and mean_sd_table(gap, "m", ["y"]).loc["a", "y"] == "2.0 ± 0.0"
    )


def test_compute_summary_columns_units_and_total():
    df = pd.DataFrame(
        {
            "n": [4, 4, 8],
            "train_seconds": [60.0, 120.0, 30.0],
            "measure_seconds": [0.0, None, 6.0],
            "steps_run": [10, 20, 5],
            "source": ["results", "results", "computed"],
            "machine": ["a", "b", "a"],
        }
    )
    cols = {
        "computed_now": ("source", "computed"),
        "train_min": ("train_seconds", "sum", "min"),
        "measure_min": ("measure_seconds", "sum", "min"),
        "longest_run_s": ("train_seconds+measure_seconds", "max"),
        "per_step": ("train_seconds", "sum/steps_run"),
        "computed_on": ("machine", "machines"),
    }
    row = compute_summary({"main": df}, "sweep", columns=cols, digits=2).loc["main"]
    assert row["runs"] == 3 and row["computed_now"] == 1 and row["train_min"] == 3.5 and row["measure_min"] == 0.1
    assert row["longest_run_s"] == 120.0 and row["per_step"] == 6.0 and row["computed_on"] == "2 runs on a; 1 run on b"
    # a part without a measuring column counts 0 s; a total row sums every part's runs
    cols.pop("per_step")
    t = compute_summary({"x": df, "y": df[["train_seconds"]]}, "part", columns=cols, total="all", digits=None)
    assert t.loc["y", "measure_min"] == 0 and t.loc["all", "runs"] == 6 and t.loc["all", "train_min"] == 7.0
    by_n = compute_summary(df.groupby("n"), total="all")
    assert by_n.index.name == "n" and by_n.loc[4].tolist() == [2, 180.0, 90.0, 120.0]
    assert by_n.loc["all"].tolist() == [3, 210.0, 70.0, 120.0]
    with pytest.raises(ValueError, match="columns: 'bad'"):
        compute_summary({"main": df}, "sweep", columns={"bad": ("train_seconds", "median")})


def test_stored_sentence():
    from replication.runs.stored import stored_sentence

    assert stored_sentence(6, 6, "runs of the binary experiment", detail=" (3 seeds per model)") == (
        "All 6 runs of the binary experiment (3 seeds per model) are read below."
    )
    assert stored_sentence(2, 6, "runs of the fixed-budget protocol") == (
        "**Runs of the fixed-budget protocol stored at this scale: 2 of 6**; the tables and claims below use "
        "those, and a claim is not tested with fewer than 2 seeds per model."
    )
    assert stored_sentence(1, 2, "reruns", stored="reruns kept", uses="the figures", seeds=False) == (
        "**Reruns kept at this scale: 1 of 2**; the figures use those."
    )
