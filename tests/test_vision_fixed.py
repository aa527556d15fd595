"""Chapter 10's fixed-budget protocol: the runs it derives, what one run measures and stores, the released
code's dropout variant, and the tables and claims built from them (on ci-sized runs and planted data)."""
import dataclasses

import numpy as np
import pytest
import torch

from replication.experiments import vision_sensitivity as ch
from replication.experiments.vision_sensitivity.runs import RELEASED_DROPOUT, fixed_runs
from replication.measures.output_sharpness import shop_shpred


def test_fixed_runs_keep_the_old_keys_apart_and_cover_the_protocol():
    cfg = ch.VisionConfig.from_params(scale="cpu")
    runs = fixed_runs(cfg)
    plain = [r for r in runs if r.dropout == 0]
    assert len(plain) == 5 * cfg.fixed_seeds and len(runs) - len(plain) == 2 * cfg.released_seeds
    assert all(r.fixed_budget and r.epochs == cfg.fixed_epochs and r.levels == cfg.fixed_levels for r in runs)
    vit = [r for r in runs if r.arch == "vit"]
    assert all(r.sharp_sigmas and r.n_sharp == r.n_train and r.weight_dtype == "float16" for r in vit)
    assert all(not r.sharp_sigmas and r.weight_dtype == "" for r in runs if r.arch != "vit")
    dropped = [r for r in runs if r.dropout]
    assert {(r.method, r.dropout) for r in dropped} == {("plain", RELEASED_DROPOUT), ("reg", RELEASED_DROPOUT)}
    old = {r for r in ch.vision_runs(cfg)}
    assert not old & set(runs)  # new keys; the runs trained to target_acc keep theirs (tests/test_keys.py)
    assert fixed_runs(dataclasses.replace(cfg, fixed_seeds=0, released_seeds=0)) == []


@pytest.mark.parametrize("param,value", [("fixed_seeds", -1), ("fixed_epochs", 0), ("fixed_levels", "[0.9, 0.8]"),
                                         ("fixed_weights", '["rnn"]'), ("fixed_sharp_sigmas", "[0.05, 0.01]"),
                                         ("fixed_sharp_repeats", 1), ("released_seeds", "two")])  # fmt: skip
def test_bad_fixed_budget_settings_stop_naming_the_parameter(param, value):
    if param in ch.VisionConfig.PARAMS:
        with pytest.raises(ValueError, match=param):
            ch.VisionConfig.from_params(scale="ci", **{param: value})
    from replication.checks import _parse  # how from_params reads a string

    with pytest.raises(ValueError, match=param):
        dataclasses.replace(ch.PRESETS["ci"], **{param: _parse(value) if isinstance(value, str) else value})


def test_shop_shpred_in_train_mode_counts_dropout_changes():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 3))
    x = torch.randn(400, 5)
    tiny = 1e-9  # parameter noise too small to change anything
    assert shop_shpred(model, x, tiny, 2, torch.Generator().manual_seed(1))["shpred"] == 0
    torch.manual_seed(2)
    r = shop_shpred(model, x, tiny, 2, torch.Generator().manual_seed(1), train_mode=True)
    assert r["shpred"] > 0.05 and r["shop"] > 0.01 and not model.training


def test_a_fixed_budget_run_trains_every_epoch_and_stores_its_checkpoints():
    cfg = ch.VisionConfig.from_params(scale="ci", fixed_levels="[0.05, 0.1]")
    runs = fixed_runs(cfg)
    vit = next(r for r in runs if r.arch == "vit" and r.method == "plain" and not r.dropout)
    vit = dataclasses.replace(vit, target_acc=0.01)  # would stop at once under the target protocol
    out = ch.measure_vision(vit)
    assert out["epochs_run"] == 2 and [r["name"] for r in out["checkpoints"]] == ["acc0", "acc1", "final"]
    assert out["checkpoints"][0]["epoch"] == 0  # 10 classes at initialisation: about 0.1 >= 0.05
    assert set(out["weights"]) == {"acc0", "acc1", "final"}
    assert all(v.dtype == torch.float16 for v in out["weights"]["final"].values())
    assert [(s["sigma"], s["mode"]) for s in out["sharp_sweep"]] == [(0.01, "eval"), (0.05, "eval")]
    assert out["sharp_sweep"][0]["shop"] < out["sharp_sweep"][1]["shop"]
    dropped = next(r for r in runs if r.dropout)
    out = ch.measure_vision(dropped)
    assert {s["mode"] for s in out["sharp_sweep"]} == {"eval", "train"}
    modes = {(s["sigma"], s["mode"]): s["shpred"] for s in out["sharp_sweep"]}
    assert np.isfinite(list(modes.values())).all()
    mlp = next(r for r in runs if r.arch == "mlp")
    out = ch.measure_vision(mlp)
    assert "weights" not in out and out["sharp_sweep"] == [] and len(out["checkpoints"]) >= 1
