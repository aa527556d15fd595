"""The shared encoder sweep: failed (non-finite) runs are counted and never averaged in."""

import dataclasses

import numpy as np
import pytest
import pandas as pd
import torch

from replication.tasks import boolean
from replication.measures import sensitivity
from replication.train import hr24 as train_mod
from replication.runs.cache import Cache
from replication.runs.store import Store
from replication.runs.sweep import run_key
from replication.experiments import sharpness
from replication.runs.encoder import sweep


def _nan_targets_for_seed(seed, monkeypatch):
    """Make training of runs with ``seed`` see NaN targets (so their loss goes non-finite)."""
    real_train = sweep.train

    def patched_train(cfg, **kw):
        if cfg.seed != seed:
            return real_train(cfg, **kw)
        with monkeypatch.context() as m:
            m.setattr(train_mod.boolean, "resolve", lambda name: lambda x: torch.full((x.shape[0],), float("nan")))
            return real_train(cfg, **kw)

    monkeypatch.setattr(sweep, "train", patched_train)


@pytest.mark.slow
def test_a_run_that_goes_non_finite_is_counted_failed_and_left_out(tmp_path, monkeypatch):
    _nan_targets_for_seed(1, monkeypatch)
    cfg = dataclasses.replace(sweep.PRESETS["ci"], functions=("first",), seeds=3, n_jobs=1)
    df = sweep.run_main(cfg, cache=Cache(tmp_path), progress=False)
    failed = df[df["seed"] == 1]
    assert failed["failed"].all() and not failed["kept"].any() and failed["sharpness"].isna().all()
    assert not df[df["seed"] != 1]["failed"].any()
    counts = sweep.convergence_counts(df)
    assert (counts["failed"] == 1).all() and (counts["runs"] == 3).all()
    assert (counts["dropped"] >= 1).all()
    reg = sharpness.regression_table(df)
    assert reg.loc[0, "runs"] == int(df["kept"].sum())  # the failed runs never enter a fit
    assert np.isfinite(sweep.kept_runs(df)["sharpness"]).all()


def test_kept_needs_convergence_too():
    frame = pd.DataFrame(
        {"function": ["parity"] * 3, "n": [4] * 3, "converged": [True, False, True], "failed": [False, False, True]}
    )
    df = sweep.annotate(frame)
    assert list(df["kept"]) == [True, False, False]


def test_balanced_strings_are_those_where_majority_is_sensitive():

    for n in (8, 9, 10):
        bal, _ = boolean.balance_sets(n, 512)
        s = sensitivity.model_sensitivity(lambda x: boolean.majority(x).float(), bal)
        assert (s > 0).all(), n  # every balanced string has a bit whose flip changes MAJORITY


def test_seeds_go_where_parity_converges():
    """dense_max_n: every function with `seeds` seeds up to it; beyond, fewer seeds of the other functions."""
    import collections
    import dataclasses

    from replication.runs.encoder.sweep import SweepConfig, run_configs

    base = SweepConfig.from_params(scale="ci")
    cfg = dataclasses.replace(base, max_n=12, grid=(4, 8, 12), seeds=5, dense_max_n=8, seeds_beyond=3)
    count = collections.Counter((r.function, r.n) for r in run_configs(cfg))
    assert count[("parity", 8)] == 5 and count[("mean", 8)] == 5
    assert count[("parity", 12)] == 0 and count[("majority", 12)] == 3 and count[("first", 12)] == 3
    assert len(run_configs(dataclasses.replace(cfg, dense_max_n=None))) == 4 * 3 * 5
    with pytest.raises(ValueError, match="dense_max_n"):
        dataclasses.replace(cfg, dense_max_n=2)


def test_calibration_trials_and_table():
    """Every trial ends at HR24's learning rate; the table reports converged lengths and sharpness per trial."""
    runs = sweep.calibration_configs()
    assert {r.lr for r in runs} == {3e-4} and {r.d for r in runs} == {32}
    assert len(runs) == len(sweep.CALIBRATION_TRIALS) * len(sweep.CALIBRATION_NS) * len(sweep.CALIBRATION_SEEDS)
    two_phase = [r for r in runs if r.lr_first is not None]
    assert two_phase and all(r.first_max_steps and r.give_up_step is None for r in two_phase)
    assert "until the plateau exit" in sweep.describe_protocol(two_phase[0])
    df = pd.DataFrame(
        {
            "trial": ["A", "A", "B", "B"],
            "protocol": ["p", "p", "q", "q"],
            "n": [12, 14, 12, 14],
            "kept": [True, False, True, True],
            "eval_mse": [1e-4, 0.2, 2e-4, 5e-4],
            "sharpness": [0.9, 9.0, 1.1, 2.5],
            "train_seconds": [60.0, 60.0, 120.0, 120.0],
            "measure_seconds": [0.0, 0.0, 0.0, 0.0],
            "batch_size": [128, 128, 256, 256],
            "steps_run": [3000, 2000, 8000, 8000],
        }
    )
    t = sweep.calibration_table(df).set_index("trial")
    assert t.loc["A", "converged at n"] == "12" and t.loc["B", "converged at n"] == "12, 14"
    assert pd.isna(t.loc["A", "sharpness n=14"]) and t.loc["B", "sharpness n=14"] == 2.5
    assert t.loc["B", "minutes per run"] == 2.0
    assert t.loc["A", "million strings per run"] == 0.32 and t.loc["B", "million strings per run"] == 2.05
    assert t.loc["C", "converged at n"] == "not run yet"  # a trial with no stored run is listed, not dropped
    assert list(t.index) == sorted(sweep.CALIBRATION_TRIALS)
    assert sweep.run_calibration(sweep.SweepConfig.from_params(scale="ci")).empty  # only the cpu scale has one


@pytest.mark.slow
def test_chosen_trial_and_settings_table():
    """The preset names the calibration trial it follows; every setting that differs from the paper says why."""
    cpu = sweep.PRESETS["cpu"]
    for name, trial in sweep.CALIBRATION_TRIALS.items():
        cfg = dataclasses.replace(cpu, **{"give_up_step": None, "lr_first": None, "first_max_steps": None, **trial})
        assert sweep.chosen_trial(cfg) == name
        df = pd.DataFrame(
            {
                "trial": [name, name],
                "n": [12, 14],
                "kept": [True, False],
                "batch_size": [100, 100],
                "steps_run": [1000, 3000],
            }
        )
        text = sweep.describe_choice(cfg, df)
        assert f"trial {name}" in text and "0.20 million training strings" in text and "up to n = 12" in text
        assert "none of the stored" in sweep.describe_choice(cfg, df.assign(trial="Z"))
        assert "only at the `cpu` scale" in sweep.describe_choice(dataclasses.replace(cfg, scale="ci"), df)
    assert sweep.chosen_trial(sweep.PRESETS["paper"]) is None
    assert sweep.chosen_trial(dataclasses.replace(cpu, batch_size=64)) is None
    paper = sharpness.settings_table(sweep.PRESETS["paper"])
    assert (paper["why"] == "the paper's").all()
    assert (paper.iloc[:, 1] == paper.iloc[:, 2]).all()
    for scale in ("ci", "cpu"):
        t = sharpness.settings_table(sweep.PRESETS[scale])
        differ = t.iloc[:, 1] != t.iloc[:, 2]
        assert differ.any() and (t.loc[differ, "why"] != "the paper's").all()
        assert (t.loc[~differ, "why"] == "the paper's").all()
        assert not t["why"].str.contains("{", regex=False).any()  # every placeholder filled
    ci = sharpness.settings_table(sweep.PRESETS["ci"]).set_index("setting")
    assert ci.loc["batch", "`ci`"] == str(sweep.PRESETS["ci"].batch_size)
    changed = sharpness.settings_table(dataclasses.replace(cpu, steps=cpu.steps + 1)).set_index("setting")
    assert changed.loc["steps", "why"] == "set by the notebook's parameters"
    assert "not matched" in changed.loc["batch", "why"]  # the changed steps match no calibration trial


def test_seed_plan_in_words():
    cfg = dataclasses.replace(sweep.PRESETS["ci"], max_n=12, grid=(4, 8, 12), seeds=5, dense_max_n=8, seeds_beyond=3)
    assert cfg.seed_plan == "5 per (function, n) up to n = 8, 3 of MAJORITY, FIRST, MEAN beyond"
    few = dataclasses.replace(cfg, functions=("parity", "majority"))
    assert few.seed_plan == "5 per (function, n) up to n = 8, 3 of MAJORITY beyond"
    assert dataclasses.replace(cfg, functions=("parity",)).seed_plan == "5 per (function, n) up to n = 8, none beyond"
    assert dataclasses.replace(cfg, dense_max_n=None).seed_plan == "5 per (function, n)"


def test_read_runs_and_prune(tmp_path):
    """What the chapters read: main and long sweeps, plus the calibration at `cpu`; pruning keeps exactly that."""
    ci = sweep.PRESETS["ci"]
    assert sweep.read_runs(ci) == sweep.run_configs(ci) + sweep.long_run_configs(ci)
    cpu = sweep.read_runs(sweep.PRESETS["cpu"])
    assert set(sweep.calibration_configs()) <= set(cpu) and len(set(cpu)) == len(cpu)
    store = Store(cache=tmp_path / "c", results=tmp_path / "results", mode_="write", scale="ci")
    stale = dataclasses.replace(sweep.run_configs(ci)[0], steps=7)
    for run in (sweep.run_configs(ci)[0], stale):
        store.target.save(sweep.KIND, run_key(run, "cpu"), {"x": 1.0})
    assert len(sweep.prune_results(ci, store)) == 1
    assert store.contains(sweep.KIND, run_key(sweep.run_configs(ci)[0], "cpu"))
    assert not store.contains(sweep.KIND, run_key(stale, "cpu"))


def test_the_chapter_hands_out_the_core_sweep_and_its_own_tables():
    """Chapter 05's package hands out the core's config and presets (one sweep, one key), plus its own settings table
    and the make hook, which ``python -m replication.make`` finds in its ``runs`` module."""
    from replication.runs.chapters import chapter
    from replication.runs.parts import hook_module

    for name in ("SweepConfig", "EncoderRun", "PRESETS"):
        assert getattr(sharpness, name) is getattr(sweep, name), name
    assert callable(sharpness.settings_table) and callable(sharpness.make_runs)
    assert hook_module(chapter("sharpness")) == "replication.experiments.sharpness.runs"
    assert sweep.EncoderRun.__module__ == "replication.runs.encoder.config"
    assert sweep.KIND == "sharpness_run"
