"""config.from_params: one way for every chapter to take its notebook's parameters."""

import pytest

from replication.runs.config import from_params
from replication.runs.encoder.sweep import PRESETS, SweepConfig


def test_unset_parameters_keep_the_preset():
    cfg = from_params(SweepConfig, PRESETS, scale="ci", aliases={"n": "max_n"}, n=None, seeds=None)
    assert cfg == PRESETS["ci"]


def test_papermill_strings_are_parsed_and_lists_become_tuples():
    cfg = SweepConfig.from_params(scale="ci", n="5", functions='["parity", "mean"]', seeds="2")
    assert cfg.max_n == 5 and cfg.functions == ("parity", "mean") and cfg.seeds == 2
    hash(cfg)  # still a valid cache key


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n": "abc"}, r"^n: must be an integer in \[4, 64\], got 'abc'"),
        ({"n": 100000}, r"^n: must be an integer in \[4, 64\], got 100000"),
        ({"seeds": 0}, r"^seeds: must be an integer in \[1, 1000\], got 0"),
        ({"functions": '["parityy"]'}, r"^functions: unknown value\(s\) \['parityy'\]"),
        ({"thm4_strings": -1}, r"^thm4_strings: must be an integer"),
    ],
)
def test_bad_values_name_the_parameter(params, message):
    with pytest.raises(ValueError, match=message):
        SweepConfig.from_params(scale="ci", **params)


def test_unknown_parameter_and_scale_are_named():
    with pytest.raises(ValueError, match=r"unknown parameter 'width'.*allowed: .*'n'"):
        from_params(SweepConfig, PRESETS, scale="ci", aliases={"n": "max_n"}, width=3)
    with pytest.raises(ValueError, match=r"parameter scale: must be one of \['ci', 'cpu', 'paper'\], got 'huge'"):
        SweepConfig.from_params(scale="huge")


def test_scale_none_reads_the_environment(monkeypatch):
    monkeypatch.setenv("REPLICATION_SCALE", "ci")
    assert SweepConfig.from_params().scale == "ci"
    monkeypatch.setenv("REPLICATION_SCALE", "laptop")
    with pytest.raises(ValueError, match=r"\$REPLICATION_SCALE: must be one of"):
        SweepConfig.from_params()


def test_chapter_config_from_params_names_an_unknown_parameter():
    """One ``from_params`` for every chapter (:class:`~replication.runs.config.ChapterConfig`): a parameter
    the notebook does not take is refused before any work, naming the ones it does."""
    from replication.experiments.introduction import DemoConfig

    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['width'\] for DemoConfig; allowed: \['n', "):
        DemoConfig.from_params(scale="ci", width=8)
    assert DemoConfig.from_params(scale="ci", n=None) == DemoConfig.presets()["ci"]
