"""Scales and parameter validation shared by every chapter's config.

A notebook's parameters cell holds literals only (``scale = None``, ``n = None``, ...). Its first code
cell hands them to a chapter config's ``from_params``, which fills unset values from the scale's preset
and checks everything before any long work starts. ``scale=None`` means ``$REPLICATION_SCALE`` if set,
else ``"cpu"``: that is how the tests and the book choose a scale without editing notebooks.
"""
from __future__ import annotations

import ast
import dataclasses
import os
from typing import Any, Iterable

#: The three scales: seconds for tests, a 2-core laptop, the papers' settings on a GPU.
SCALES = ("ci", "cpu", "paper")
DEFAULT_SCALE = "cpu"
SCALE_ENV = "REPLICATION_SCALE"


def resolve_scale(scale: str | None) -> str:
    """``None`` -> ``$REPLICATION_SCALE`` or ``"cpu"``; anything else must be one of :data:`SCALES`."""
    source = "parameter scale"
    if scale is None or scale == "":
        scale = os.environ.get(SCALE_ENV) or DEFAULT_SCALE
        source = f"${SCALE_ENV}" if os.environ.get(SCALE_ENV) else source
    if scale not in SCALES:
        raise ValueError(f"{source}: must be one of {list(SCALES)}, got {scale!r}")
    return scale


def _parse(value: Any) -> Any:
    """papermill passes ``-p n abc`` as the string 'abc' and ``-p n 16`` as 16; accept '16' too."""
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    return value


def check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """Return ``value`` as an int in ``[lo, hi]`` or raise a ValueError naming the parameter."""
    v = _parse(value)
    allowed = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{name}: must be {allowed}, got {value!r}")
    if v < lo or (hi is not None and v > hi):
        raise ValueError(f"{name}: must be {allowed}, got {v}")
    return v


def check_float(name: str, value: Any, lo: float, hi: float | None = None, lo_open: bool = False) -> float:
    """Return ``value`` as a float in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``) or raise."""
    v = _parse(value)
    left = "(" if lo_open else "["
    allowed = f"a number in {left}{lo}, {'inf)' if hi is None else str(hi) + ']'}"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{name}: must be {allowed}, got {value!r}")
    v = float(v)
    if v < lo or (lo_open and v == lo) or (hi is not None and v > hi):
        raise ValueError(f"{name}: must be {allowed}, got {v}")
    return v


def check_choices(name: str, values: Any, allowed: Iterable[str]) -> tuple[str, ...]:
    """A non-empty list of names, each from ``allowed``."""
    allowed = tuple(allowed)
    v = _parse(values)
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, (list, tuple)) or not v:
        raise ValueError(f"{name}: must be a non-empty list drawn from {list(allowed)}, got {values!r}")
    bad = [x for x in v if x not in allowed]
    if bad:
        raise ValueError(f"{name}: unknown value(s) {bad}; allowed: {list(allowed)}")
    return tuple(v)


def check_choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name}: must be one of {list(allowed)}, got {value!r}")
    return value


def with_overrides(preset, **overrides):
    """``dataclasses.replace`` with the overrides that are not None (unset notebook parameters)."""
    fields = {f.name for f in dataclasses.fields(preset)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)}; allowed: {sorted(fields)}")
    return dataclasses.replace(preset, **{k: v for k, v in overrides.items() if v is not None})
