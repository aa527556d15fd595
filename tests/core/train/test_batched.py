"""The batched trainer against separate runs: K models of one shape trained as one give what K runs give."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

import replication.train.batched as batched_module
from replication.runs.encoder import sweep
from replication.runs.cache import Cache
from replication.runs.sweep import batch_jobs, run_sweep
from replication.train import TrainConfig, check_batch, train, train_batched

#: The attention key bias gets an exactly zero gradient (softmax ignores a shift shared by every key), so
#: it moves only by rounding noise that AdamW scales up to steps of size lr, differently in each
#: arithmetic order. Every other parameter must agree to float tolerance.
ZERO_GRADIENT = "self_attn.in_proj_bias"


def _cfgs(function: str, **kw) -> list[TrainConfig]:
    base = dict(n=6, d=16, batch_size=64, steps=60, eval_every=25)
    return [TrainConfig(function, seed=s, **{**base, **kw}) for s in (0, 1, 2)]


def _assert_same_run(single, batch, d: int = 16):
    assert single.steps_run == batch.steps_run and single.failed == batch.failed
    assert [h["step"] for h in single.history] == [h["step"] for h in batch.history]
    for h1, h2 in zip(single.history, batch.history):
        assert h2["eval_mse"] == pytest.approx(h1["eval_mse"], rel=1e-5, abs=1e-7)
        if h1["step"] > 0:
            assert h2["loss"] == pytest.approx(h1["loss"], rel=1e-5, abs=1e-7)
    assert batch.eval_mse == pytest.approx(single.eval_mse, rel=1e-5, abs=1e-7)
    a, b = single.model.state_dict(), batch.model.state_dict()
    assert a.keys() == b.keys()
    for name in a:
        if name.endswith(ZERO_GRADIENT):  # queries and values must agree; keys are noise (see above)
            torch.testing.assert_close(a[name][:d], b[name][:d], rtol=1e-4, atol=1e-6)
            torch.testing.assert_close(a[name][2 * d :], b[name][2 * d :], rtol=1e-4, atol=1e-6)
        else:
            torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("function", ["parity", "majority", "first", "mean"])
def test_three_models_trained_as_one_equal_three_runs(function):
    cfgs = _cfgs(function)
    for single, batch in zip([train(c, progress=False) for c in cfgs], train_batched(cfgs, progress=False)):
        _assert_same_run(single, batch)


def test_the_strings_do_not_depend_on_how_many_steps_are_drawn_at_once():
    cfgs = _cfgs("parity", steps=30)
    a, b = train_batched(cfgs, progress=False, chunk=7), train_batched(cfgs, progress=False, chunk=30)
    for x, y in zip(a, b):
        assert [h["loss"] for h in x.history] == [h["loss"] for h in y.history]
        for t, u in zip(x.model.state_dict().values(), y.model.state_dict().values()):
            assert torch.equal(t, u)


def test_a_model_whose_loss_goes_non_finite_stops_alone(monkeypatch):
    """Model 1 starts with an infinite head bias: it fails at step 1, untouched, and the others train on."""
    stack = batched_module._stacked_models

    def planted(cfgs):
        template, params, buffers = stack(cfgs)
        with torch.no_grad():
            params["head.bias"][1] = math.inf
        return template, params, buffers

    monkeypatch.setattr(batched_module, "_stacked_models", planted)
    cfgs = _cfgs("majority")
    out = train_batched(cfgs, progress=False)
    assert out[1].failed and out[1].steps_run == 0 and not out[1].converged
    assert [h["step"] for h in out[1].history] == [0]
    assert out[1].model.state_dict()["head.bias"].isinf().all()
    for k in (0, 2):
        _assert_same_run(train(cfgs[k], progress=False), out[k])


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(give_up_step=50), "give_up_step"),
        (dict(early_stop=True), "early_stop"),
        (dict(lr_first=1e-3, first_max_steps=50, steps=50), "lr_first"),
    ],
)
def test_runs_with_a_stopping_rule_are_not_batched(change, message):
    with pytest.raises(ValueError, match=message):
        check_batch([dataclasses.replace(c, **change) for c in _cfgs("parity", eval_every=25, steps=50)])


def test_a_batch_must_share_its_shape_and_not_repeat_a_seed():
    a, b, _ = _cfgs("parity")
    with pytest.raises(ValueError, match=r"differ in \['lr'\]"):
        check_batch([a, dataclasses.replace(b, lr=1e-3)])
    with pytest.raises(ValueError, match="distinct"):
        check_batch([a, a])
    with pytest.raises(ValueError, match="at least one"):
        check_batch([])


def test_batch_jobs_groups_by_key_in_order_of_appearance():
    configs = ["a0", "b0", "a1", "x", "a2", "b1"]
    key = lambda c: None if c == "x" else c[0]  # noqa: E731
    assert batch_jobs(list(range(6)), configs, key, 2) == [[0, 2], [1, 5], [3], [4]]
    assert batch_jobs([1, 3], configs, None, 40) == [[1], [3]]


def test_the_sweep_stores_batched_runs_as_it_would_store_them_alone(tmp_path):
    """run_sweep with batching on the CPU: one entry per run under its own key, equal to the unbatched
    measurement (training to float tolerance), provenance saying the batch."""
    cfg = sweep.PRESETS["ci"]
    runs = [r for r in sweep.run_configs(cfg) if r.function == "first" and r.n == 4][:1]
    runs = [dataclasses.replace(runs[0], seed=s, steps=40) for s in range(3)]
    together = Cache(tmp_path / "batched")
    df = run_sweep(
        runs,
        sweep.measure_run,
        "sharpness_run",
        cache=together,
        n_jobs=1,
        progress=False,
        device="cpu",
        batched=True,
        **sweep.BATCHING,
    )
    alone = run_sweep(
        runs,
        sweep.measure_run,
        "sharpness_run",
        cache=Cache(tmp_path / "single"),
        n_jobs=1,
        progress=False,
        device="cpu",
    )
    assert list(df["source"]) == ["computed"] * 3
    for col in ("eval_mse", "param_norm", "model_as", "sharpness"):
        assert df[col].tolist() == pytest.approx(alone[col].tolist(), rel=1e-3), col
    entry = together.load_entry("sharpness_run", {"config": runs[0], "device": "cpu"})
    assert entry["provenance"]["batch"] == 3
    again = run_sweep(
        runs,
        sweep.measure_run,
        "sharpness_run",
        cache=together,
        n_jobs=1,
        progress=False,
        device="cpu",
        batched=True,
        **sweep.BATCHING,
    )
    assert list(again["source"]) == ["cache"] * 3
