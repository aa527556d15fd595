"""Field validators every config calls in its ``__post_init__``: one rule, one error message, one place.

Each takes the parameter's name, its value and what is allowed, and raises a ValueError that names all
three before any long work starts. Strings (as papermill passes them) are parsed first.
"""

from __future__ import annotations

import ast
from typing import Any
from collections.abc import Iterable

#: Field metadata of a config field added after results were stored: while it holds its default it is
#: left out of the key, so every entry stored before the field existed keeps its key.
KEY_OMIT_DEFAULT = "key_omit_default"


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


def check_multiple(name: str, value: Any, k: int, why: str, lo: int | None = None) -> int:
    """An integer >= ``lo`` (default ``k``) that is a multiple of ``k``; ``why`` says what needs it."""
    v = check_int(name, value, k if lo is None else lo)
    if v % k:
        raise ValueError(f"{name}: must be a multiple of {k} ({why}), got {v}")
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


def check_shape(cfg, positive: tuple[str, ...]) -> None:
    """Validate a model shape: the fields ``positive`` are positive integers, ``d`` is even (token and
    position halves) and divisible by ``heads``, and ``d_ff`` is a positive integer or None."""
    for name in positive:
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}: must be a positive integer, got {v!r}")
    if cfg.d % 2:
        raise ValueError(f"d: must be even (token and position halves), got {cfg.d}")
    if cfg.d % cfg.heads:
        raise ValueError(f"heads: must divide d={cfg.d}, got {cfg.heads}")
    if cfg.d_ff is not None and (isinstance(cfg.d_ff, bool) or not isinstance(cfg.d_ff, int) or cfg.d_ff < 1):
        raise ValueError(f"d_ff: must be a positive integer or None, got {cfg.d_ff!r}")


def check_increasing(name: str, values: Any, hi: float, what: str) -> tuple[float, ...]:
    """A non-empty, strictly increasing tuple of finite numbers in (0, ``hi``]; ``what`` names them in the error."""
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{name}: must be a non-empty {what}, got {values!r}")
    out = tuple(check_float(name, v, 0.0, hi, lo_open=True) for v in values)
    if any(b <= a for a, b in zip(out[:-1], out[1:])):
        raise ValueError(f"{name}: must be strictly increasing, got {list(out)}")
    return out
