"""Chapter 07: truth tables and training sets, the read-off of T1, fitting, the config, the claims."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from replication.tasks import boolean
from replication.measures import sensitivity
from replication.runs.cache import Cache
from replication.experiments import generalization as ch
from replication.experiments.generalization.measure import _sharpness_on
from replication.models.encoder import EncoderConfig, HR24Encoder


# --------------------------------------------------------------------------------------------------
# Tables and training sets


def test_hex_round_trip_and_layout():
    table = torch.tensor([1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1], dtype=torch.float64)
    assert ch.table_to_hex(table) == "81f5"  # 1000 0001 1111 0101, first string in the high bit
    assert torch.equal(ch.hex_to_table("81f5"), table)
    t = boolean.random_table(10, 4)
    assert len(ch.table_to_hex(t)) == 256 and torch.equal(ch.hex_to_table(ch.table_to_hex(t)), t)
    with pytest.raises(ValueError, match="table"):
        ch.table_to_hex([0, 1, 2, 0])


def test_train_indices():
    idx = ch.train_indices(10, 256, function=3, train_set=1)
    assert len(idx) == 256 == len(set(idx.tolist())) and idx.min() >= 0 and idx.max() < 1024
    assert torch.equal(idx, idx.sort().values)
    assert torch.equal(idx, ch.train_indices(10, 256, function=3, train_set=1))  # deterministic
    others = [ch.train_indices(10, 256, 3, 0), ch.train_indices(10, 256, 4, 1), ch.train_indices(10, 128, 3, 1)]
    assert all(not torch.equal(idx[: len(o)], o) for o in others)


def test_random_table_of_the_chapter_is_random_function_s():
    assert torch.equal(ch.random_table(10, 2), sensitivity.truth_table(boolean.random_function(10, seed=2), 10))


# --------------------------------------------------------------------------------------------------
# Reading T1 off a model


class FractionOfOnes(nn.Module):
    """A hand-built 'model': the fraction of ones of each string (HR24's MEAN), so T1 = strict majority."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        return self.scale * x.float().mean(-1)


def test_read_off_a_hand_built_model_is_strict_majority():
    n = 7
    t1 = ch.read_off(FractionOfOnes(), n)
    ones = boolean.all_strings(n).sum(-1)
    assert torch.equal(t1, (2 * ones > n).double())  # by hand: above 1/2 means more ones than zeros
    assert torch.equal(t1, sensitivity.truth_table("majority", n))
    assert sensitivity.average_sensitivity(t1) == pytest.approx(sensitivity.closed_form_sensitivity("majority", n))


def test_read_off_an_encoder_set_by_hand():
    """An HR24 encoder whose head reads nothing but its bias computes a constant: T1 is 0 or 1 everywhere."""
    torch.manual_seed(0)
    m = HR24Encoder(EncoderConfig(n=6, d=8))
    with torch.no_grad():
        m.head.weight.zero_()
        m.head.bias.fill_(0.7)
    t1 = ch.read_off(m.eval(), 6)
    assert torch.equal(t1, torch.ones(64, dtype=torch.float64)) and sensitivity.average_sensitivity(t1) == 0
    with torch.no_grad():
        m.head.bias.fill_(0.3)
    assert ch.read_off(m, 6).sum() == 0


def test_read_off_an_encoder_computing_the_first_bit():
    """A model set by hand from the encoder's token embedding: the first coordinate of the first token's
    embedding, 0.2 for a 0 and 0.8 for a 1, so T1 is FIRST."""
    torch.manual_seed(0)
    m = HR24Encoder(EncoderConfig(n=5, d=8))
    with torch.no_grad():
        m.tok_emb.weight.copy_(torch.tensor([[0.2, 0, 0, 0], [0.8, 0, 0, 0]]))

    def first_bit_model(x):  # (B, n) -> (B,): the first coordinate of the first token's embedding
        return m.embed(x)[:, 0, 0]

    t1 = ch.read_off(first_bit_model, 5)
    assert torch.equal(t1, sensitivity.truth_table("first", 5)) and sensitivity.average_sensitivity(t1) == 1.0


# --------------------------------------------------------------------------------------------------
# Fitting and measuring


def _run(**kw):
    base = dict(
        n=5,
        function=0,
        size=12,
        train_set=0,
        d=8,
        layers=2,
        heads=2,
        lr=1e-2,
        weight_decay=0.1,
        batch_size=64,
        max_steps=400,
        eval_every=20,
        fit_mse=0.01,
        rho=0.02,
        n_perturbations=4,
    )
    base.update(kw)
    return ch.FitRun(**base)


def test_fit_strings_stops_when_the_set_is_fitted():
    run = _run()
    cube = sensitivity.cube_strings(5, 0, 32)
    idx = ch.train_indices(5, 12, 0, 0)
    y = ch.random_table(5, 0)[idx]
    model, s = ch.fit_strings(run, cube[idx], y, seed=0)
    assert s["fitted"] and s["steps_run"] % run.eval_every == 0 and s["steps_run"] < run.max_steps
    with torch.no_grad():
        out = model(cube[idx])
    assert ((out > 0.5).double() == y).all() and float(((out - y.float()) ** 2).mean()) < run.fit_mse
    assert s["fit_mse_reached"] == pytest.approx(float(((out - y.float()) ** 2).mean()), rel=1e-5)


def test_a_set_not_fitted_in_the_budget_is_marked():
    model, s = ch.fit_strings(
        _run(max_steps=3, eval_every=1), sensitivity.cube_strings(5, 0, 32), ch.random_table(5, 1), seed=0
    )
    assert not s["fitted"] and s["steps_run"] == 3


def test_measure_fit_and_refit():
    run = _run()
    r = ch.measure_fit(run)
    assert r["fitted"] and r["train_agreement"] == 1.0
    t1 = ch.hex_to_table(r["table_T1"])
    assert r["as_T1"] == sensitivity.average_sensitivity(t1)
    assert r["as_f"] == sensitivity.average_sensitivity(ch.random_table(5, 0))
    assert r["ones_T1"] == float(t1.mean())
    fields = {
        f.name: getattr(run, f.name) for f in dataclasses.fields(run) if f.name not in ("function", "size", "train_set")
    }
    refit = ch.RefitRun(
        target="T1",
        function=0,
        size=12,
        train_set=0,
        table=r["table_T1"],
        sets=((12, 0), (32 - 1, 0)),
        seed=1000,
        **fields,
    )
    out = ch.measure_refit(refit)
    assert out["as_target"] == r["as_T1"] and len(out["sharpness_sets"]) == 2
    if out["fitted"]:
        assert out["as_model"] == out["as_target"]  # fitted on the whole cube: it computes its target


def test_sharpness_on_the_whole_cube_as_a_set_equals_cube_sharpness():
    """Same model, same perturbations: the 'training set' that is the whole cube gives the cube's value."""
    torch.manual_seed(0)
    m = HR24Encoder(EncoderConfig(n=5, d=8)).eval()
    cube = sensitivity.cube_strings(5, 0, 32)
    sh = _sharpness_on(m, _run(), cube, [torch.arange(32), torch.arange(16)])
    assert sh["sharpness_sets"][0] == pytest.approx(sh["sharpness_cube"], rel=1e-6)
    assert sh["sharpness_sets"][1] != pytest.approx(sh["sharpness_cube"], rel=1e-6)


# --------------------------------------------------------------------------------------------------
# The config


@pytest.mark.parametrize("bad", [[2000], [128, 2000], "[128, 2000]", [1024], [1], [128, 128], [0.5]])
def test_bad_train_sizes_are_rejected(bad):
    with pytest.raises(ValueError, match="train_sizes"):
        ch.GeneralizationConfig.from_params(scale="cpu", train_sizes=bad)


@pytest.mark.parametrize("name,bad", [("functions", 0), ("train_sets", -1), ("seeds", "x"), ("functions", 1.5)])
def test_bad_counts_are_rejected(name, bad):
    with pytest.raises(ValueError, match=name):
        ch.GeneralizationConfig.from_params(scale="cpu", **{name: bad})


def test_from_params_applies_overrides():
    cfg = ch.GeneralizationConfig.from_params(scale="cpu", train_sizes="[128, 256]", functions=2, train_sets=3)
    assert cfg.train_sizes == (128, 256) and cfg.functions == 2 and cfg.train_sets == 3
    assert len(ch.fit_runs(cfg)) == 2 * 2 * 3
    assert ch.PRESETS["paper"].d == 128 and ch.PRESETS["paper"].functions == 10


def test_refit_runs_follow_the_fitted_t1_runs():
    cfg = ch.GeneralizationConfig.from_params(scale="cpu", functions=2, train_sets=2, train_sizes=[128, 256])
    cfg = dataclasses.replace(cfg, seeds=2)
    t1 = pd.DataFrame(
        [
            {
                "function": fn,
                "size": size,
                "train_set": s,
                "fitted": not (fn == 1 and size == 256),
                "table_T1": ch.table_to_hex(torch.zeros(1024)),
            }
            for fn in range(2)
            for size, s in cfg.sets
        ]
    )
    runs = ch.refit_runs(cfg, t1)
    t1_runs = [r for r in runs if r.target == "T1"]
    # refit_sets = 1 at cpu: only training set 0 of each size, and not the T1 that did not fit
    assert {(r.function, r.size, r.train_set) for r in t1_runs} == {(0, 128, 0), (0, 256, 0), (1, 128, 0)}
    assert len(t1_runs) == 3 * 2 and all(r.sets == ((r.size, r.train_set),) for r in t1_runs)
    f_runs = [r for r in runs if r.target == "f"]
    assert len(f_runs) == 2 * 2 and all(r.sets == cfg.sets for r in f_runs)
    assert f_runs[0].table == ch.table_to_hex(ch.random_table(10, 0))
    one = ch.refit_runs(dataclasses.replace(cfg, refit_functions=1), t1)  # refits for function 0 only
    assert {r.function for r in one} == {0} and len(one) == 2 * 2 + 2


# --------------------------------------------------------------------------------------------------
# End to end at ci scale, and the claims


@pytest.fixture(scope="module")
def ci_tables(tmp_path_factory):
    cfg = ch.GeneralizationConfig.from_params(scale="ci")
    cache = Cache(tmp_path_factory.mktemp("cache"))
    t1 = ch.learned_functions(cfg, cache=cache, progress=False)
    refit = ch.refits(cfg, t1, cache=cache, progress=False)
    return cfg, t1, refit, ch.train_vs_cube(t1, refit)


@pytest.mark.slow
def test_ci_pipeline(ci_tables):
    cfg, t1, refit, tv = ci_tables
    assert len(t1) == cfg.functions * len(cfg.train_sizes) * cfg.train_sets
    assert set(refit["target"]) <= {"T1", "f"} and (refit["target"] == "f").sum() == cfg.functions * cfg.seeds
    assert (tv["ratio"] == tv["sharpness_train"] / tv["sharpness_cube"]).all()
    assert len(ch.claims(cfg, t1, refit, tv)) == 5
    assert "random functions" in ch.describe(cfg, t1, refit)


def _frames(as_gap, sharp_ratio, sizes=(128, 256, 512)):
    """Synthetic tables: as(T1) = 5 + as_gap + a rise with size; fits to T1 sharper than fits to f by sharp_ratio."""
    rng = np.random.default_rng(0)
    t1 = pd.DataFrame(
        [
            {
                "function": fn,
                "size": size,
                "train_set": s,
                "fitted": True,
                "as_f": 5.0,
                "as_T1": 5.0 + as_gap + size / 512 + 0.05 * rng.standard_normal(),
                "held_out_agreement": 0.5,
                "sharpness_train": 1.0,
                "sharpness_cube": 1.0,
            }
            for fn in range(4)
            for size in sizes
            for s in range(2)
        ]
    )
    cube = {("T1", r.function, r.size, r.train_set): sharp_ratio * (1 + rng.random()) for r in t1.itertuples()}
    cube.update({("f", fn, None, None): 1 + rng.random() for fn in range(4)})
    near = lambda v: v * (1 + 0.02 * rng.standard_normal())  # noqa: E731 (a set's sharpness: about the cube's)
    refit = pd.DataFrame(
        [
            {
                "target": "T1",
                "function": r.function,
                "size": r.size,
                "train_set": r.train_set,
                "fitted": True,
                "seed": 0,
                "sharpness_cube": v,
                "sets": ((r.size, r.train_set),),
                "sharpness_sets": [near(v)],
                "steps_run": 100,
            }
            for r in t1.itertuples()
            for v in [cube[("T1", r.function, r.size, r.train_set)]]
        ]
        + [
            {
                "target": "f",
                "function": fn,
                "size": np.nan,
                "train_set": np.nan,
                "fitted": True,
                "seed": 0,
                "sharpness_cube": cube[("f", fn, None, None)],
                "sets": tuple((size, s) for size in sizes for s in range(2)),
                "sharpness_sets": [near(cube[("f", fn, None, None)]) for _ in range(6)],
                "steps_run": 200,
            }
            for fn in range(4)
        ]
    )
    return t1, refit, ch.train_vs_cube(t1, refit)


def test_claims_hold_on_tables_that_show_the_effects():
    cfg = ch.PRESETS["cpu"]
    holds = [c.holds for c in ch.claims(cfg, *_frames(as_gap=-3.0, sharp_ratio=0.3))]
    assert holds == [True, True, True, True, True]


def test_claims_fail_on_tables_that_do_not():
    cfg = ch.PRESETS["cpu"]
    t1, refit, tv = _frames(as_gap=+1.0, sharp_ratio=3.0)
    t1["as_T1"] = 6.0 - t1["size"] / 512  # more sensitive than f, and falling with size
    tv["sharpness_train"] = tv["sharpness_cube"] * 2  # training-set sharpness twice the cube's
    tv["ratio"] = 2.0
    holds = [c.holds for c in ch.claims(cfg, t1, refit, tv)]
    assert holds == [False, False, False, False, False]
