"""What a chapter's parameters cell says of its presets is what the presets hold.

A parameter's comment may state a preset's value as ``<value> at <scale>`` (``5 at cpu``, ``"1/sqrt(M)" at
cpu``, ``30 at cpu and paper``, ``4 at cpu, 10 at paper``); each such statement is compared with the field of
``PRESETS[scale]`` of the config the notebook calls ``from_params`` on (the parameter's name, or the field its
alias names). A number written after "the preset" without a scale (``the preset's (2)``) is refused: it
cannot be checked, so it says at which scale.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import replication.experiments
from replication.runs.chapters import pages
from replication.runs.config import ChapterConfig

ROOT = Path(__file__).resolve().parents[2]
SCALE = r"(?:ci|cpu|paper)"
#: ``<value> at <scale>[ and <scale>]``: the value a number (thousands separated), a quoted string, a list or a word.
STATED = re.compile(
    rf"""(?P<value>"[^"]*"|'[^']*'|\[[^\]]*\]|-?\d+(?:,\d{{3}})*(?:\.\d+)?(?:e-?\d+)?|[A-Za-z_]\w*)"""
    rf"""\s+at\s+(?P<scales>{SCALE}(?:\s+and\s+{SCALE})*)\b"""
)
#: A number right after "the preset" / "the preset's", with no scale: not checkable.
UNSCALED = re.compile(rf"the preset(?:'s)?[,;:]?\s*\(?\s*(?:-?\d[\d,.]*+|\[[^\]]*+\])(?!\s+at\s+{SCALE})")


def parameter_comments(text: str) -> dict[str, str]:
    """``{name: comment}`` of the ``name = None  # comment`` lines of the notebook's parameters cell."""
    cell = text.split('tags=["parameters"]', 1)[1].split("\n# %%", 1)[0]
    out = {}
    for line in cell.splitlines():
        m = re.match(r"(\w+)\s*=\s*None\s*#\s*(.*)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def statements(comment: str) -> list[tuple[str, str]]:
    """``[(value text, scale), ...]`` stated in ``comment``."""
    return [(m["value"], s) for m in STATED.finditer(comment) for s in re.findall(SCALE, m["scales"])]


def value_of(text: str):
    """The stated value as Python: ``20,000`` -> 20000, ``[0, 0.1]`` -> [0, 0.1], ``"x"`` -> "x", ``mnist`` -> "mnist"."""
    plain = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    try:
        return ast.literal_eval(plain)
    except (ValueError, SyntaxError):
        return text


def same(stated, actual) -> bool:
    if isinstance(actual, (list, tuple)) and isinstance(stated, (list, tuple)):
        return len(stated) == len(actual) and all(same(s, a) for s, a in zip(stated, actual))
    if isinstance(actual, bool) or isinstance(stated, bool):
        return stated is actual
    if isinstance(actual, (int, float)) and isinstance(stated, (int, float)):
        return float(stated) == float(actual)
    return stated == actual


def _configs() -> dict[str, type]:
    """Every chapter config class by name (every experiments module imported first)."""
    for mod in pkgutil.walk_packages(replication.experiments.__path__, "replication.experiments."):
        importlib.import_module(mod.name)
    out, todo = {}, list(ChapterConfig.__subclasses__())
    while todo:
        cls = todo.pop()
        out[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return out


def notebook_config(text: str) -> type:
    """The config class whose ``from_params`` the notebook calls."""
    names = set(re.findall(r"(\w+Config)\.from_params\(", text))
    assert len(names) == 1, f"expected one config's from_params call, found {sorted(names)}"
    return _configs()[names.pop()]


@pytest.mark.parametrize("stem", pages())
def test_stated_preset_values_are_the_presets(stem):
    text = (ROOT / "notebooks" / f"{stem}.py").read_text()
    cls = notebook_config(text)
    presets = cls.presets()
    wrong, unscaled = [], []
    for name, comment in parameter_comments(text).items():
        if UNSCALED.search(comment):
            unscaled.append(f"{name}: {comment}")
        field = cls.ALIASES.get(name, name)
        for value, scale in statements(comment):
            actual = getattr(presets[scale], field)
            if not same(value_of(value), actual):
                wrong.append(f"{name} = {value} at {scale}, but PRESETS[{scale!r}].{field} = {actual!r}")
    assert not unscaled, f"{stem}: a preset value without its scale (write '<value> at <scale>'): {unscaled}"
    assert not wrong, f"{stem}: the parameters cell states presets wrongly: {wrong}"


def test_the_parser_reads_every_form_and_catches_a_wrong_value():
    comment = 'seeds (None: the preset\'s, 5 at cpu; "1/sqrt(M)" at ci, 20,000 at cpu and paper, [0, 0.1] at cpu)'
    assert statements(comment) == [
        ("5", "cpu"),
        ('"1/sqrt(M)"', "ci"),
        ("20,000", "cpu"),
        ("20,000", "paper"),
        ("[0, 0.1]", "cpu"),
    ]
    assert [value_of(v) for v, _ in statements(comment)] == [5, "1/sqrt(M)", 20000, 20000, [0, 0.1]]
    assert statements("mnist at cpu, 1.28 for mnist") == [("mnist", "cpu")]
    assert same(value_of("[0, 0.1]"), (0.0, 0.1)) and not same(20, 3) and same(3, 3.0) and not same(2000, None)
    assert UNSCALED.search("None: the preset (2)") and UNSCALED.search("the preset's [0, 0.1]")
    assert not UNSCALED.search("None: the preset's, 5 at cpu") and not UNSCALED.search("None: the preset's")
    text = '# %% tags=["parameters"]\nepochs = None  # training epochs (None: the preset\'s, 20 at cpu)\n# %%\n'
    assert parameter_comments(text) == {"epochs": "training epochs (None: the preset's, 20 at cpu)"}
