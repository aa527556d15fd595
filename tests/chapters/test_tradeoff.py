"""Chapter 06: the draws, the regression statistic, the dynamics detectors and the callback hook."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from replication.experiments.tradeoff import dynamics as dyn
from replication.experiments import tradeoff as ch
from replication.measures.norms import parameter_norm
from replication.models.encoder import HR24Encoder
from replication.train import train

# --------------------------------------------------------------------------------------------------
# Config and draws


@pytest.mark.parametrize(
    "param,value",
    [
        ("seeds", 0),
        ("weight_decays", "[-1]"),
        ("functions", '["parityy"]'),
        ("n", 3),
        ("steps", 0),
        ("draws", 0),
        ("weight_decays", "[]"),
    ],
)
def test_bad_parameters_stop_naming_the_parameter(param, value):
    with pytest.raises(ValueError, match=rf"^{param}:"):
        ch.TradeoffConfig.from_params(scale="cpu", **{param: value})


def test_draws_are_uniform_in_range_seeded_and_stored_in_the_config():
    cfg = ch.TradeoffConfig.from_params(scale="cpu")
    runs = ch.tradeoff_runs(cfg)
    assert runs == ch.tradeoff_runs(ch.TradeoffConfig.from_params(scale="cpu"))  # same draws every time
    lrs = np.array([r.lr for r in runs])
    wds = np.array([r.weight_decay for r in runs])
    assert ((lrs >= cfg.lr_range[0]) & (lrs <= cfg.lr_range[1])).all()
    assert ((wds >= cfg.wd_range[0]) & (wds <= cfg.wd_range[1])).all()
    assert len(set(zip(lrs, wds))) == len(runs)  # every run its own draw
    # Uniform: Kolmogorov-Smirnov against U(lo, hi) on many draws.
    many = [ch.draw(cfg, "parity", 7, i) for i in range(400)]
    lo, hi = cfg.lr_range
    assert stats.kstest([m[0] for m in many], stats.uniform(lo, hi - lo).cdf).pvalue > 0.01
    lo, hi = cfg.wd_range
    assert stats.kstest([m[1] for m in many], stats.uniform(lo, hi - lo).cdf).pvalue > 0.01


def test_parity_at_its_own_lengths_and_dynamics_at_its_longest():
    cfg = ch.TradeoffConfig.from_params(scale="cpu")
    par = {r.n for r in ch.tradeoff_runs(cfg) if r.function == "parity"}
    rest = {r.n for r in ch.tradeoff_runs(cfg) if r.function != "parity"}
    assert par == set(cfg.parity_lengths) and max(rest) == cfg.max_n
    per = pd.Series([(r.function, r.n) for r in ch.tradeoff_runs(cfg)]).value_counts()
    assert per[("parity", 5)] == per[("first", 5)] == cfg.draws
    fewer = dataclasses.replace(cfg, other_draws=1)
    per = pd.Series([(r.function, r.n) for r in ch.tradeoff_runs(fewer)]).value_counts()
    assert per[("parity", 5)] == cfg.draws and per[("first", 5)] == 1
    assert {r.n for r in ch.dynamics_runs(cfg)} == {max(par)}
    assert {r.weight_decay for r in ch.dynamics_runs(cfg)} == set(cfg.weight_decays)
    small = ch.TradeoffConfig.from_params(scale="cpu", n=6)
    assert small.ns == (5, 6) and small.parity_ns == (5, 6) and small.dynamics_n == 6
    with pytest.raises(ValueError, match="^n:"):
        ch.TradeoffConfig.from_params(scale="cpu", n=4)  # below PARITY's shortest length


# --------------------------------------------------------------------------------------------------
# The regression statistic


def test_ols_matches_linregress_with_one_regressor():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    y = 1.5 - 0.7 * x + rng.normal(scale=0.3, size=50)
    b, se, dof = ch.ols(y, np.column_stack([np.ones(50), x]))
    ref = stats.linregress(x, y)
    assert b[1] == pytest.approx(ref.slope) and se[1] == pytest.approx(ref.stderr) and dof == 48


def _synthetic_runs(coef_n: float, seed: int = 0, per: int = 6) -> pd.DataFrame:
    """log blowup = 3 − 0.2·norm + coef_n·n + noise: a tradeoff whose frontier moves with n iff coef_n ≠ 0."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in (5, 6, 8, 10):
        for _ in range(per):
            norm = rng.uniform(8, 16)
            rows.append(
                {
                    "function": "parity",
                    "n": n,
                    "param_norm": norm,
                    "kept": True,
                    "log_mean_blowup": 3 - 0.2 * norm + coef_n * n + rng.normal(scale=0.1),
                }
            )
    return pd.DataFrame(rows)


def test_n_effect_finds_n_where_it_matters():
    t = ch.n_effect(_synthetic_runs(0.15)).iloc[0]
    assert t["coef_n"] == pytest.approx(0.15, abs=0.02)
    assert t["coef_norm"] == pytest.approx(-0.2, abs=0.02)
    assert t["p_n"] < 1e-10 and t["runs"] == 24 and t["lengths"] == 4


def test_n_effect_finds_nothing_where_n_does_not_matter():
    ps = [ch.n_effect(_synthetic_runs(0.0, seed=s)).iloc[0]["p_n"] for s in range(40)]
    assert np.mean(np.array(ps) < 0.05) <= 0.15  # about 5% false positives
    assert stats.kstest(ps, "uniform").pvalue > 0.01  # p is uniform under the null


def test_n_effect_coefficient_is_the_partial_slope():
    """Frisch-Waugh-Lovell: the coefficient of n equals the slope of y on n after both are cleared of norm."""
    df = _synthetic_runs(0.1, seed=3)
    clear = lambda v: v - np.polyval(np.polyfit(df["param_norm"], v, 1), df["param_norm"])  # noqa: E731
    ref = stats.linregress(clear(df["n"].astype(float)), clear(df["log_mean_blowup"]))
    assert ch.n_effect(df).iloc[0]["coef_n"] == pytest.approx(ref.slope)


def test_n_effect_uses_kept_runs_only_and_needs_two_lengths():
    df = _synthetic_runs(0.15)
    df.loc[df["n"] == 10, "log_mean_blowup"] += 100  # an outlier length ...
    df.loc[df["n"] == 10, "kept"] = False  # ... that did not converge
    assert ch.n_effect(df).iloc[0]["coef_n"] == pytest.approx(0.15, abs=0.03)
    one = df[df["n"] == 5]
    assert np.isnan(ch.n_effect(one).iloc[0]["p_n"])


def test_parity_offset_short_with_others_long_above():
    rng = np.random.default_rng(1)
    rows = []
    for f in ("majority", "first", "mean"):
        for _ in range(15):
            norm = rng.uniform(8, 16)
            rows.append(
                {
                    "function": f,
                    "n": 8,
                    "param_norm": norm,
                    "kept": True,
                    "log_mean_blowup": 3 - 0.2 * norm + rng.normal(scale=0.1),
                }
            )
    for n, lift in ((5, 0.0), (10, 1.0)):
        for _ in range(6):
            norm = rng.uniform(8, 16)
            rows.append(
                {
                    "function": "parity",
                    "n": n,
                    "param_norm": norm,
                    "kept": True,
                    "log_mean_blowup": 3 - 0.2 * norm + lift + rng.normal(scale=0.1),
                }
            )
    off = ch.parity_offset(pd.DataFrame(rows)).set_index("n")
    assert off.loc[5, "p"] > 0.05 and abs(off.loc[5, "offset"]) < 0.1
    assert off.loc[10, "p"] < 0.01 and off.loc[10, "offset"] == pytest.approx(1.0, abs=0.1)


# --------------------------------------------------------------------------------------------------
# Detectors on synthetic curves with known answers


STEPS = np.arange(0, 4001, 100)


def _loss(exit_at: int) -> np.ndarray:
    """Chance level 0.25 until ``exit_at - 100``, then a fall to 1e-4 over a few evaluations."""
    return np.where(STEPS < exit_at - 100, 0.25, 0.25 * np.exp(-(STEPS - exit_at + 100) / 80.0)).clip(1e-4)


def test_plateau_exit_is_the_first_evaluation_below_half_the_variance():
    loss = _loss(1500)
    got = dyn.plateau_exit(STEPS, loss, variance=0.25)
    assert got == STEPS[np.argmax(loss < 0.125)]
    assert 1400 <= got <= 1500
    assert dyn.plateau_exit(STEPS, np.full(len(STEPS), 0.24), variance=0.25) is None
    assert dyn.plateau_exit([0, 10, 20], [0.3, 0.125, 0.12], variance=0.25) == 20  # strictly below


def test_peak_step_finds_a_broad_peak_not_a_single_spike_when_smoothed():
    s = 0.1 + np.exp(-(((STEPS - 2000) / 300.0) ** 2))  # broad peak at 2000
    s[5] = 1.5  # one noisy evaluation at step 500
    assert dyn.peak_step(STEPS, s, window=1) == 500
    assert dyn.peak_step(STEPS, s, window=3) == 2000


def test_steepest_rise_of_a_step_that_stays_high():
    s = np.where(STEPS < 1200, 0.05, 0.3) + 0.001 * np.sin(STEPS)  # jumps at 1200 and stays: no clear peak
    assert dyn.steepest_rise(STEPS, s) == 1200
    assert dyn.steepest_rise([0, 1, 2, 3], [1.0, 2.0, 8.0, 9.0]) == 2  # ×4 beats ×2 and ×1.1


def test_run_events_on_a_synthetic_run():
    loss = _loss(1500)
    sharp = 0.1 + np.exp(-(((STEPS - 1500) / 200.0) ** 2))
    conv = dyn.first_below(STEPS, dyn.smooth(loss, 3), 1e-3)
    norm = np.where(STEPS <= conv, 20.0, 20.0 * np.exp(-(STEPS - conv) / 10_000))  # decays after convergence
    lb = np.where(STEPS <= conv, 1.0, 1.0 + (STEPS - conv) / 1000)
    h = pd.DataFrame({"step": STEPS, "eval_mse": loss, "sharpness": sharp, "param_norm": norm, "log_blowup": lb})
    ev = dyn.run_events(h, variance=0.25)
    assert ev["peak_step"] == 1500 and ev["gap"] == abs(1500 - ev["exit_step"]) <= 100
    assert ev["rise_gap"] == abs(ev["rise_step"] - ev["exit_step"]) and ev["rise_step"] < 1500
    assert ev["converged_step"] == conv and ev["post_steps"] == 4000 - conv
    assert ev["norm_change"] == pytest.approx(np.exp(-(4000 - conv) / 10_000) - 1)
    assert ev["log_blowup_change"] == pytest.approx((4000 - conv) / 1000)


def _events(gaps, wds, norm_changes, blowup_changes):
    return pd.DataFrame(
        {
            "weight_decay": wds,
            "seed": range(len(wds)),
            "exit_step": 1000,
            "peak_step": [1000 + g for g in gaps],
            "gap": np.abs(gaps),
            "rise_gap": 100,
            "post_steps": 2000,
            "norm_change": norm_changes,
            "log_blowup_change": blowup_changes,
        }
    )


def test_dynamics_claims_hold_and_fail_on_synthetic_events():
    cfg = ch.TradeoffConfig.from_params(scale="cpu")
    wds = [0.0, 0.0, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3]
    good = _events(
        [0, 100, -100, 0, 200, 0, 100, -200],
        wds,
        [0.02, 0.01, -0.05, -0.06, -0.1, -0.12, -0.2, -0.18],
        [0.0, -0.01, 0.1, 0.12, 0.3, 0.25, 0.5, 0.6],
    )
    assert [c.holds for c in ch.dynamics_claims(cfg, good)] == [True, True, True]
    bad = _events(
        [0, 100, 2000, 0, 200, 0, 100, -200],
        wds,
        [0.02, 0.01, 0.05, -0.06, -0.1, -0.12, -0.2, -0.18],
        [0.0, -0.01, 0.1, 0.12, 0.3, 0.25, 0.5, 0.6],
    )
    got = ch.dynamics_claims(cfg, bad)
    assert [c.holds for c in got] == [True, False, False]  # the jump is on time; one peak and one norm are not
    assert "weight decay 0.1" in got[1].note and "long runs" not in got[1].note
    # Long runs that peak at the exit without weight decay and at the end with it: the note says so.
    long = pd.DataFrame(
        {
            "weight_decay": [0.0, 0.0, 0.1, 0.1],
            "exit_step": 1000,
            "steps": 20_000,
            "peak_step": [1200, 1300, 19_000, 20_000],
        }
    )
    note = ch.dynamics_claims(cfg, bad, long)[1].note
    assert "the long runs (20,000 steps)" in note and "weight decay 0: peak within 500 steps of the exit in 2/2" in note
    assert "weight decay 0.1: peak within 500 steps of the exit in 0/2 runs, peaks at steps 19,000 to 20,000" in note
    bad.loc[3, "rise_gap"] = 1500
    assert not ch.dynamics_claims(cfg, bad)[0].holds


# --------------------------------------------------------------------------------------------------
# The callback hook


def _tiny_run(**kw) -> dyn.DynamicsRun:
    base = dict(
        n=5,
        seed=1,
        weight_decay=0.1,
        lr=3e-3,
        d=8,
        layers=2,
        heads=2,
        batch_size=32,
        steps=25,
        eval_every=10,
        rho=0.02,
        n_perturbations=2,
        n_inputs=32,
    )
    return dyn.DynamicsRun(**{**base, **kw})


def test_the_callback_sees_every_evaluation():
    run = _tiny_run()
    seen = []
    log = dyn.logger(run)
    res = train(run.train_config(), callback=lambda step, m: seen.append(step) or log(step, m), progress=False)
    assert seen == [r["step"] for r in res.history] == [0, 10, 20, 25]
    out = dyn.measure_dynamics(run)
    assert [r["step"] for r in out["history"]] == [0, 10, 20, 25]
    for r in out["history"]:
        assert {"eval_mse", "sharpness", "param_norm", "blowup", "log_blowup"} <= set(r)
        assert r["log_blowup"] == pytest.approx(np.log(r["blowup"]))
    # Step 0 is the untrained model: its norm is that of a fresh encoder with the run's seed.
    torch.manual_seed(run.seed)
    fresh = HR24Encoder(run.train_config().encoder)
    assert out["history"][0]["param_norm"] == pytest.approx(parameter_norm(fresh))


def test_weight_decay_shrinks_the_logged_norm_in_a_tiny_run():
    a = dyn.measure_dynamics(_tiny_run(weight_decay=0.0, lr=1e-2, steps=40))["history"]
    b = dyn.measure_dynamics(_tiny_run(weight_decay=5.0, lr=1e-2, steps=40))["history"]
    assert b[-1]["param_norm"] < a[-1]["param_norm"]
    assert a[0]["param_norm"] == b[0]["param_norm"]


def test_pooled_interaction_recovers_a_planted_extra_slope_and_equivalence_bounds_the_others():
    """Planted runs: log blowup = a_f + b_f·norm + 0.02·n + 0.3·n·[PARITY] + noise; the pooled fit finds the 0.3,
    and each other function's n-slope interval lies within ±0.15 (half of PARITY's) but not within ±0.001."""
    import numpy as np
    import pandas as pd

    from replication.experiments.tradeoff.stats import equivalence, n_effect, pooled_interaction

    rng = np.random.default_rng(0)
    rows = []
    for f, a, b in [("parity", 1.0, -0.5), ("majority", 0.5, -0.4), ("first", 0.2, -0.3), ("mean", 0.4, -0.4)]:
        for n in (5, 8, 12):
            for _ in range(6):
                norm = rng.uniform(5, 15)
                y = a + b * norm + 0.02 * n + (0.3 * n if f == "parity" else 0) + rng.normal(0, 0.05)
                rows.append({"function": f, "n": n, "param_norm": norm, "log_mean_blowup": y, "kept": True})
    df = pd.DataFrame(rows)
    pooled = pooled_interaction(df)
    assert abs(pooled["extra"] - 0.3) < 3 * pooled["se"] and pooled["p"] < 1e-6
    assert abs(pooled["others_slope"] - 0.02) < 0.01
    eff = n_effect(df).set_index("function")
    rest = eff.drop(index="parity")
    assert equivalence(rest, 0.5 * eff.loc["parity", "coef_n"])["equivalent"].all()
    assert not equivalence(rest, 0.001)["equivalent"].any()
    # without a second PARITY length there is nothing to test
    assert np.isnan(pooled_interaction(df[(df["function"] != "parity") | (df["n"] == 5)])["extra"])


def test_offset_table_finds_a_planted_offset_and_the_reason_names_the_variant_that_removes_it():
    """Base and 'width 64': PARITY 0.8 above MAJORITY at matched norm; 'width 128': no offset."""
    import numpy as np
    import pandas as pd

    from replication.experiments.tradeoff import offset
    from replication.experiments.tradeoff.claims import _offset_reason
    from replication.experiments.tradeoff.config import PRESETS

    rng = np.random.default_rng(1)

    def runs(delta, variant=None):
        rows = []
        for f in ("parity", "majority"):
            for _ in range(5):
                norm = rng.uniform(5, 10)
                rows.append(
                    {
                        "function": f,
                        "n": 5,
                        "param_norm": norm,
                        "kept": True,
                        "variant": variant,
                        "log_mean_blowup": 1 - 0.3 * norm + (delta if f == "parity" else 0) + rng.normal(0, 0.02),
                    }
                )
        return pd.DataFrame(rows)

    cfg = PRESETS["cpu"]
    variants = pd.concat([runs(0.8, "width 64"), runs(0.0, "width 128 (HR24)")])
    table = offset.offset_table(cfg, runs(0.8), variants)
    assert list(table["setting"])[1:] == ["width 64", "width 128 (HR24)"]
    assert table["offset"].iloc[0] == pytest.approx(0.8, abs=0.05) and table["p"].iloc[0] < 1e-6
    assert abs(table["offset"].iloc[2]) < 0.05
    off = pd.DataFrame({"n": [5, 8], "runs": [3, 3], "offset": [0.8, 1.6], "others_sd": [0.2, 0.2], "p": [1e-3, 1e-3]})
    reason = _offset_reason(off, table)
    assert reason.endswith("width 128 (HR24) moves PARITY onto MAJORITY's frontier")
    assert "is not stored" in _offset_reason(off, None)


# --------------------------------------------------------------------------------------------------
# Long dynamics (HR24 Fig. 3, 12, 13)

from replication.experiments.tradeoff import long_dynamics as longd  # noqa: E402
from replication.experiments.tradeoff.long_claims import long_claims  # noqa: E402


def test_a_sparse_schedule_measures_densely_then_every_k_steps_and_keeps_old_keys():
    run = _tiny_run(steps=60, sparse_from=20, sparse_every=30)
    out = dyn.measure_dynamics(run)["history"]
    assert [r["step"] for r in out] == [0, 10, 20, 30, 40, 50, 60]  # the MSE at every evaluation
    assert [r["step"] for r in out if "sharpness" in r] == [0, 10, 20, 30, 60]  # measures: dense, then every 30
    # the committed runs' keys are pinned in tests/core/runs/test_keys.py; the new fields are left out at their defaults
    from replication.runs.cache import config_key

    assert config_key("dynamics_run", _tiny_run()) == config_key("dynamics_run", _tiny_run(sparse_from=0))
    assert config_key("dynamics_run", _tiny_run()) != config_key("dynamics_run", run)
    with pytest.raises(ValueError, match="^sparse_every:"):
        _tiny_run(sparse_every=15)


def test_long_runs_are_off_at_cpu_until_committed_and_validated_by_name():
    assert ch.TradeoffConfig.from_params(scale="cpu", long_seeds=0).long_seeds == 0
    runs = ch.long_runs(ch.TradeoffConfig.from_params(scale="cpu", long_seeds=4))
    assert len(runs) == 8 and {r.weight_decay for r in runs} == {0.0, 0.1} and {r.steps for r in runs} == {20_000}
    assert {(r.sparse_from, r.sparse_every) for r in runs} == {(5_000, 500)}
    for param, value in [("long_seeds", -1), ("long_steps", 0)]:
        with pytest.raises(ValueError, match=rf"^{param}:"):
            ch.TradeoffConfig.from_params(scale="cpu", **{param: value})


def _long_curve(seed, wd, level, follow: float = 0.0):
    """A synthetic long run: plateau to step 1000, sharpness spike at 1200 falling to ``level``; after step
    3000 the log blowup rises with weight decay and the log sharpness moves ``follow`` times as much."""
    rng = np.random.default_rng(seed)
    steps = np.concatenate([np.arange(0, 5001, 100), np.arange(5500, 20001, 500)])
    mse = np.where(steps < 1000, 0.25, 1e-4)
    lb = 1.0 + wd * 10 * np.clip(steps - 3000, 0, None) / 17000
    sharp = (level + 5 * level * np.exp(-(((steps - 1200) / 300.0) ** 2))) * np.exp(follow * (lb - 1.0))
    sharp = sharp * np.exp(rng.normal(0, 0.02, len(steps)))
    norm = 20 * np.exp(-wd * np.clip(steps - 1000, 0, None) / 5000)
    return pd.DataFrame(
        {
            "step": steps,
            "loss": mse,
            "eval_mse": mse,
            "sharpness": sharp,
            "param_norm": norm,
            "blowup": np.exp(lb),
            "log_blowup": lb,
            "weight_decay": wd,
            "seed": seed,
            "n": 8,
            "train_seconds": 1.0,
        }
    )


def test_long_claims_hold_on_a_run_that_falls_levels_and_ignores_the_blowup():
    cfg = ch.TradeoffConfig.from_params(scale="cpu", long_seeds=4)
    curves = pd.concat(
        [_long_curve(s, wd, (0.02 if wd == 0 else 0.04) * (1 + 0.05 * s)) for wd in (0.0, 0.1) for s in range(4)]
    )
    ev = longd.long_events(curves)
    assert (ev["peak_step"] == 1200).all() and (ev["exit_step"] == 1000).all()
    assert ev["fall"].to_numpy() == pytest.approx(-np.log(6), abs=0.1)
    assert ev["drift"].abs().max() < 0.05 and ev.loc[ev["weight_decay"] > 0, "elasticity"].abs().max() < 0.1
    easy = pd.Series([0.002, 0.003, 0.004])
    assert [c.holds for c in long_claims(cfg, ev, easy)] == [True, True, True]
    # above the floor fails where the easy functions are as sharp; the zero-decay claim where levels are swapped
    got = long_claims(cfg, ev, pd.Series([0.05, 0.06, 0.07]))
    assert not got[0].holds and "do not exceed the easy functions" in got[0].note


def test_long_claims_fail_where_the_sharpness_follows_the_blowup_or_keeps_moving():
    cfg = ch.TradeoffConfig.from_params(scale="cpu", long_seeds=4)
    follows = pd.concat([_long_curve(s, wd, 0.02, follow=1.0) for wd in (0.0, 0.1) for s in range(4)])
    ev = longd.long_events(follows)
    assert ev.loc[ev["weight_decay"] > 0, "elasticity"].to_numpy() == pytest.approx(1.0, abs=0.1)
    got = long_claims(cfg, ev, pd.Series([0.001]))
    assert not got[1].holds and "interval" in got[1].note
    assert not got[0].holds and "not levelled" in got[0].note  # it keeps rising with the blowup: no level
    assert "still rising at weight decay 0.1" in got[0].note and "weight decay 0:" in got[0].note
    assert "per log unit of blowup" in got[1].note
    assert long_claims(cfg, ev.iloc[:0], pd.Series([0.001])) == []


def test_mean_interval_is_the_t_interval():
    v = [1.0, 2.0, 4.0, 7.0]
    mean, lo, hi = longd.mean_interval(v)
    half = stats.t.ppf(0.95, 3) * np.std(v, ddof=1) / 2
    assert (mean, lo, hi) == pytest.approx((3.5, 3.5 - half, 3.5 + half))
