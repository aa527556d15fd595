"""Cache round trip and corruption; claims records; scale and parameter validation."""

import dataclasses
import json

import pytest

from replication.runs import cache as cache_mod
from replication.runs.cache import Cache, config_key
from replication.report.claims import Claim, record, scorecard
from replication.checks import check_choices, check_int
from replication.runs.config import resolve_scale
from replication.train import TrainConfig


def test_round_trip_and_reuse(tmp_path):
    c = Cache(tmp_path)
    calls = []
    cfg = TrainConfig("parity", n=4)
    out = c.get_or_compute("run", cfg, lambda: calls.append(1) or {"a": 1.5})
    again = c.get_or_compute("run", cfg, lambda: calls.append(1) or {"a": 2.0})
    assert out == again == {"a": 1.5} and calls == [1]
    assert not list(tmp_path.rglob("*.tmp"))


def test_key_depends_on_every_field_and_version(tmp_path):
    cfg = TrainConfig("parity", n=4)
    a = config_key("run", cfg)
    for field, other in (("seed", 1), ("lr", 1e-3), ("n", 5), ("function", "majority"), ("steps", cfg.steps + 1)):
        assert a != config_key("run", dataclasses.replace(cfg, **{field: other})), field
    assert a != config_key("other", cfg)
    # 1.0 and 1 name the same setting, so they must give the same key; 1.5 and 1 must not.
    assert config_key("run", {"lr": 1.0}) == config_key("run", {"lr": 1})
    assert config_key("run", {"lr": 1.5}) != config_key("run", {"lr": 1})
    # The key a Cache files an entry under carries the code version: a different version, another key.
    stem = Cache(tmp_path).path("run", cfg).stem
    assert stem == config_key("run", cfg, version=cache_mod.CODE_VERSION)
    assert stem != config_key("run", cfg, version=cache_mod.CODE_VERSION + "-next")


def test_corrupted_entry_is_reported_and_recomputed(tmp_path):
    c = Cache(tmp_path)
    c.save("run", {"x": 1}, 41)
    c.path("run", {"x": 1}).write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable"):
        assert c.get_or_compute("run", {"x": 1}, lambda: 42) == 42
    assert c.load("run", {"x": 1}) == 42


def test_claims_record_and_scorecard(tmp_path):
    cl = [
        Claim("03_x", "a claim", "HR24 Fig. 1", "1", "0.9", True, "ci", kind="paper"),
        Claim("03_x", "another", "HR24 Eq. 17", "2", "3", False, "ci", note="why", kind="check"),
    ]
    df = record(cl, root=tmp_path)
    assert list(df["holds"]) == [True, False]
    stored = json.loads((tmp_path / "claims" / "ci" / "03_x.json").read_text())
    assert stored[1]["note"] == "why"
    sc = scorecard([tmp_path / "claims"])
    assert len(sc) == 2 and set(sc["scale"]) == {"ci"}
    with pytest.raises(TypeError, match="holds"):
        Claim("03_x", "c", "r", "1", "1", 1, "ci", kind="paper")


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
        Claim("01_x", "c", "r", "1", "1", True, "a note passed where the scale goes", kind="paper")


def test_demo_claims_carry_the_scale():
    import pandas as pd

    from replication.experiments import introduction as demo

    cfg = demo.DemoConfig.from_params(scale="ci")
    df = pd.DataFrame(
        [
            {"function": "parity", "sharpness": 1.0, "converged": True, "eval_mse": 1e-4},
            {"function": "majority", "sharpness": 0.1, "converged": True, "eval_mse": 1e-6},
        ]
    )
    (c,) = demo.claims(cfg, df)
    assert c.scale == "ci" and c.holds


def test_demo_claim_needs_every_model_to_fit():
    import pandas as pd

    from replication.experiments import introduction as demo

    cfg = demo.DemoConfig.from_params(scale="ci")
    df = pd.DataFrame(
        [
            {"function": "parity", "n": 4, "sharpness": 1.0, "converged": True, "eval_mse": 1e-4},
            {"function": "majority", "n": 4, "sharpness": 0.1, "converged": False, "eval_mse": 0.05},
        ]
    )
    (c,) = demo.claims(cfg, df)
    assert not c.holds and "MAJORITY did not fit" in c.note
    assert "MAJORITY did not fit" in demo.describe(cfg, df.assign(as_n=[4.0, 1.5]))
    fitted = df.assign(converged=True, eval_mse=[1e-4, 1e-6], as_n=[4.0, 1.5])
    assert demo.describe(cfg, fitted).startswith("Both models fit their targets")
    assert demo.claims(cfg, fitted)[0].holds
    assert not demo.claims(cfg, fitted.assign(sharpness=[1.0, 0.5]))[0].holds  # ratio 2 < 3


def _chapter_configs():
    from replication.experiments import average_sensitivity, introduction as demo, transformer_model as model_anatomy

    return {
        "demo": demo.DemoConfig,
        "anatomy": model_anatomy.AnatomyConfig,
        "sensitivity": average_sensitivity.SensitivityConfig,
    }


@pytest.mark.parametrize(
    "which, params, message",
    [
        ("demo", {"n": "abc"}, r"^n: must be an integer in \[2, 20\], got 'abc'"),
        ("demo", {"n": 0}, r"^n: must be an integer in \[2, 20\], got 0"),
        ("demo", {"steps": "0"}, r"^steps: must be an integer >= 1, got 0"),
        ("demo", {"functions": '["parityy"]'}, r"^functions: unknown value\(s\) \['parityy'\]"),
        ("anatomy", {"n": 65}, r"^n: must be an integer in \[2, 64\], got 65"),
        ("anatomy", {"function": "xor"}, r"^function: must be one of"),
        ("anatomy", {"d": 18}, r"^d: must be a multiple of 4 .*got 18"),
        ("anatomy", {"d": "x"}, r"^d: must be an integer >= 4, got 'x'"),
        ("sensitivity", {"n": 0}, r"^n: must be an integer in \[1, 22\], got 0"),
        ("sensitivity", {"n": 23}, r"^n: must be an integer in \[1, 22\], got 23"),
        ("sensitivity", {"init_seeds": 0}, r"^init_seeds: must be an integer >= 1, got 0"),
        ("sensitivity", {"functions": []}, r"^functions: must be a non-empty list"),
        ("sensitivity", {"d": 7}, r"^d: must be even"),
    ],
)
def test_chapter_configs_name_bad_values(which, params, message):
    cls = _chapter_configs()[which]
    with pytest.raises(ValueError, match=message):
        cls.from_params(scale="ci", **params)


def test_chapter_configs_check_in_post_init_and_parse_strings():
    import dataclasses

    for cls in _chapter_configs().values():
        cfg = cls.from_params(scale="ci", n="7")
        assert cfg.n == 7 and cls.from_params(scale="ci") != cfg
        with pytest.raises(ValueError, match=r"^n: must be an integer"):
            dataclasses.replace(cfg, n=-1)  # the dataclass itself checks, not only from_params
    from replication.experiments.transformer_model import PRESETS

    with pytest.raises(ValueError, match=r"^d: must be a multiple of 4"):
        dataclasses.replace(PRESETS["ci"], d=18)
    sens = _chapter_configs()["sensitivity"].from_params(scale="ci", functions='["parity", "majority"]')
    assert sens.functions == ("parity", "majority")
    from replication.runs.config import from_params
    from replication.experiments import introduction as demo

    with pytest.raises(ValueError, match="unknown parameter 'width'"):
        from_params(demo.DemoConfig, demo.PRESETS, scale="ci", width=3)


def test_field_added_later_keeps_old_keys_at_its_default():
    """A field marked KEY_OMIT_DEFAULT leaves the key alone at its default, and changes it otherwise."""
    import dataclasses as dc

    from replication.runs.cache import KEY_OMIT_DEFAULT, config_key

    @dc.dataclass(frozen=True)
    class Before:
        a: int

    @dc.dataclass(frozen=True)
    class After:
        a: int
        b: float | None = dc.field(default=None, metadata={KEY_OMIT_DEFAULT: True})

    assert config_key("k", After(1)) == config_key("k", Before(1))
    assert config_key("k", After(1, b=0.5)) != config_key("k", Before(1))


def test_untestable_claims_are_counted_apart(tmp_path):
    """A claim the run cannot test shows as such and is left out of the held / tested count."""
    from replication.report.view import display_table
    from replication.report.tally import summary

    held = Claim("05_x", "a", "HR24", "1", "1", True, "cpu", kind="paper")
    failed = Claim("05_x", "b", "HR24", "1", "2", False, "cpu", kind="paper")
    untested = Claim("05_x", "c", "HR24", "1", "n ≤ 8", False, "cpu", "PARITY too short", testable=False, kind="paper")
    record([held, failed, untested], root=tmp_path)
    card = scorecard([tmp_path / "claims"])
    assert summary(card).loc["05_x", ("cpu", "paper claims")] == "1 / 2 (+1 not testable)"
    assert list(display_table(card)["holds"]) == ["✓ yes", "✗ no", "– not testable"]
    with pytest.raises(ValueError, match="not testable cannot hold"):
        Claim("05_x", "d", "HR24", "1", "1", True, "cpu", testable=False, kind="paper")


def test_untestable_constructor_and_the_chapter_factory():
    from replication.report.claims import UNTESTABLE, claims_for, untestable

    c = untestable("05_sharpness", "cpu", "a claim", "HR24 Fig. 5", "≈ 1", "no PARITY run converged", kind="paper")
    assert (c.measured, c.holds, c.testable) == (UNTESTABLE, False, False) == ("not testable", False, False)
    assert c.note == "not testable: no PARITY run converged" and c.chapter == "05_sharpness"
    claim = claims_for("replication.experiments.vision_sensitivity.fixed_claims")
    assert claim.chapter == "10_vision_sensitivity" and claims_for("replication.experiments.introduction").chapter == (
        "01_introduction"
    )
    made = claim("x", "V25 §5", "lower", "0.1 ± 0.01", True, "ci", note="check", kind="diagnosis")
    assert made == Claim(
        "10_vision_sensitivity", "x", "V25 §5", "lower", "0.1 ± 0.01", True, "ci", "check", kind="diagnosis"
    )
    assert claim.untestable("x", "V25 §5", "lower", "ci", "why", kind="paper", headline=True) == untestable(
        "10_vision_sensitivity", "ci", "x", "V25 §5", "lower", "why", kind="paper", headline=True
    )
    with pytest.raises(ValueError, match="no chapter"):
        claims_for("replication.experiments.nowhere")


def test_committed_claims_are_the_repositorys_results_and_the_scorecard_reads_them(tmp_path, monkeypatch):
    from replication import paths
    from replication.report import claims as claims_mod

    assert claims_mod.COMMITTED == paths.REPO / "results" / "claims"
    assert (paths.REPO / "results").is_dir() and (paths.REPO / "replication").is_dir()
    monkeypatch.setenv(cache_mod.CACHE_ENV, str(tmp_path / "cache"))  # an empty local cache
    committed = tmp_path / "results" / "claims"
    record([Claim("06_tradeoff", "planted", "HR24", "1", "1", True, "paper", kind="paper")], root=tmp_path / "results")
    card = scorecard(committed=committed)
    assert list(card["claim"]) == ["planted"] and list(card["scale"]) == ["paper"]
    assert scorecard(committed=tmp_path / "nothing").empty
