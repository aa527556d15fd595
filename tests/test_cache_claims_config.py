"""Cache round trip and corruption; claims records; scale and parameter validation."""
import json

import pytest

from replication import cache as cache_mod
from replication.cache import Cache, config_key
from replication.claims import Claim, record, scorecard
from replication.config import check_choices, check_int, resolve_scale
from replication.train import TrainConfig


def test_round_trip_and_reuse(tmp_path):
    c = Cache(tmp_path)
    calls = []
    cfg = TrainConfig("parity", n=4)
    out = c.get_or_compute("run", cfg, lambda: calls.append(1) or {"a": 1.5})
    again = c.get_or_compute("run", cfg, lambda: calls.append(1) or {"a": 2.0})
    assert out == again == {"a": 1.5} and calls == [1]
    assert not list(tmp_path.rglob("*.tmp"))


def test_key_depends_on_every_field_and_version(monkeypatch):
    a = config_key("run", TrainConfig("parity", n=4))
    assert a != config_key("run", TrainConfig("parity", n=4, seed=1))
    assert a != config_key("other", TrainConfig("parity", n=4))
    assert a == config_key("run", TrainConfig("parity", n=4, lr=3e-4))
    monkeypatch.setattr(cache_mod, "CODE_VERSION", "999")
    assert a != cache_mod.config_key("run", TrainConfig("parity", n=4), version=cache_mod.CODE_VERSION)


def test_corrupted_entry_is_reported_and_recomputed(tmp_path):
    c = Cache(tmp_path)
    c.save("run", {"x": 1}, 41)
    c.path("run", {"x": 1}).write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable"):
        assert c.get_or_compute("run", {"x": 1}, lambda: 42) == 42
    assert c.load("run", {"x": 1}) == 42


def test_claims_record_and_scorecard(tmp_path):
    cl = [Claim("03_x", "a claim", "HR24 Fig. 1", "1", "0.9", True, "ci"),
          Claim("03_x", "another", "HR24 Eq. 17", "2", "3", False, "ci", note="why")]
    df = record(cl, root=tmp_path)
    assert list(df["holds"]) == [True, False]
    stored = json.loads((tmp_path / "claims" / "ci" / "03_x.json").read_text())
    assert stored[1]["note"] == "why"
    sc = scorecard([tmp_path / "claims"])
    assert len(sc) == 2 and set(sc["scale"]) == {"ci"}
    with pytest.raises(TypeError, match="holds"):
        Claim("03_x", "c", "r", "1", "1", 1, "ci")


def test_resolve_scale(monkeypatch):
    monkeypatch.delenv("REPLICATION_SCALE", raising=False)
    assert resolve_scale(None) == "cpu"
    monkeypatch.setenv("REPLICATION_SCALE", "ci")
    assert resolve_scale(None) == "ci"
    assert resolve_scale("paper") == "paper"
    with pytest.raises(ValueError, match="scale: must be one of .* got 'huge'"):
        resolve_scale("huge")
    monkeypatch.setenv("REPLICATION_SCALE", "bogus")
    with pytest.raises(ValueError, match="REPLICATION_SCALE"):
        resolve_scale(None)


def test_check_int_messages():
    assert check_int("n", 16, 1, 22) == 16
    assert check_int("n", "16", 1, 22) == 16
    for bad in (0, "abc", 2.5, True, 23):
        with pytest.raises(ValueError, match=r"^n: must be an integer in \[1, 22\]"):
            check_int("n", bad, 1, 22)
    assert check_choices("functions", '["parity"]', ["parity", "first"]) == ("parity",)
    with pytest.raises(ValueError, match=r"functions: unknown value\(s\) \['parityy'\]"):
        check_choices("functions", ["parityy"], ["parity"])


def test_claim_scale_is_checked():
    with pytest.raises(ValueError, match="scale: must be one of"):
        Claim("01_x", "c", "r", "1", "1", True, "a note passed where the scale goes")


def test_demo_claims_carry_the_scale():
    import pandas as pd

    from replication.experiments import demo

    cfg = demo.DemoConfig.from_params(scale="ci")
    df = pd.DataFrame([{"function": "parity", "sharpness": 1.0, "converged": True, "eval_mse": 1e-4},
                       {"function": "majority", "sharpness": 0.1, "converged": True, "eval_mse": 1e-6}])
    (c,) = demo.claims(cfg, df)
    assert c.scale == "ci" and c.holds
