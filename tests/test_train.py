"""Training is deterministic by seed, learns easy functions, and validates its config."""
import pytest
import torch

from replication.train import TrainConfig, train

TINY = dict(d=16, batch_size=64, eval_every=50, eval_size=512)


def test_same_seed_same_numbers():
    cfg = TrainConfig("parity", n=4, steps=30, **TINY)
    a, b = train(cfg), train(cfg)
    assert a.eval_mse == b.eval_mse
    for (k, v), w in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(v, w), k
    c = train(TrainConfig("parity", n=4, steps=30, seed=1, **TINY))
    assert c.eval_mse != a.eval_mse


def test_learns_first():
    r = train(TrainConfig("first", n=5, steps=300, lr=3e-3, **TINY))
    assert r.eval_mse < 1e-2
    assert r.history[0]["step"] == 0 and r.history[-1]["step"] == 300


def test_early_stop_and_give_up():
    r = train(TrainConfig("first", n=5, steps=2000, lr=3e-3, early_stop=True, converge_mse=1e-2, **TINY))
    assert r.converged and r.steps_run < 2000
    r = train(TrainConfig("parity", n=12, steps=2000, give_up_step=50, **TINY))
    assert r.gave_up and r.steps_run == 50 and not r.converged


def test_callback_rows():
    seen = []
    r = train(TrainConfig("mean", n=4, steps=40, **TINY), callback=lambda s, m: seen.append(s) or {"x": s}, callback_every=20)
    assert seen == [0, 20, 40]
    assert [row.get("x") for row in r.history if "x" in row] == [0, 20, 40]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"function": "parityy"}, "function: must be one of"),
        ({"n": 0}, "n: must be an integer"),
        ({"lr": -1}, "lr: must be"),
        ({"steps": "abc"}, "steps: must be an integer"),
        ({"d": 7}, "d: must be even"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{"function": "parity", "n": 4, **kwargs})
