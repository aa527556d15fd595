"""Scales and parameter validation shared by every chapter's config.

A notebook's parameters cell holds literals only (``scale = None``, ``n = None``, ...). Its first code
cell hands them to :func:`from_params` with the chapter's config class and presets: unset values come
from the scale's preset, strings from papermill are parsed, and the config's own ``__post_init__`` checks
everything (once, in one place) before any long work starts. ``scale=None`` means ``$REPLICATION_SCALE`` if set,
else ``"cpu"``: that is how the tests and the book choose a scale without editing notebooks.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any, ClassVar

from ..checks import _parse, check_choice


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


def with_overrides(preset, **overrides):
    """``dataclasses.replace`` with the overrides that are not None (unset notebook parameters)."""
    fields = {f.name for f in dataclasses.fields(preset)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)}; allowed: {sorted(fields)}")
    return dataclasses.replace(preset, **{k: v for k, v in overrides.items() if v is not None})


def _normalise(value: Any) -> Any:
    """Parse papermill strings and turn lists into tuples (configs are frozen and hashable)."""
    v = _parse(value)
    if isinstance(v, list):
        return tuple(_normalise(x) for x in v)
    return v


def from_params(cls, presets: dict, scale: str | None = None, aliases: dict | None = None, **params):
    """The preset of ``scale`` for config class ``cls``, with the notebook's parameters applied.

    ``params`` are the notebook's parameters; ``None`` means "the preset's value". Values are parsed as
    papermill passes them (``-p n 16`` gives 16, ``-p n '16'`` and ``-p functions '["parity"]'`` give
    strings, parsed here), lists become tuples, and ``aliases`` maps a parameter name to a config field
    whose name differs (``{"n": "max_n"}``). No value is checked here: ``cls.__post_init__`` checks every
    field, so a bad value raises a ValueError that names the parameter, the value and what is allowed.

    Args:
        cls: a frozen dataclass with a ``scale`` field.
        presets: ``{scale: cls instance}`` for ``"ci"``, ``"cpu"`` and ``"paper"``.
        scale: ``"ci"``, ``"cpu"``, ``"paper"`` or None (``$REPLICATION_SCALE``, else ``"cpu"``).
    """
    scale = resolve_scale(scale)
    if scale not in presets:
        raise ValueError(f"scale: {cls.__name__} has no preset for {scale!r}; allowed: {sorted(presets)}")
    aliases = aliases or {}
    fields = {f.name for f in dataclasses.fields(cls)}
    overrides = {}
    for name, value in params.items():
        field = aliases.get(name, name)
        if field not in fields or field == "scale":
            allowed = sorted((fields - {"scale"} - set(aliases.values())) | set(aliases))
            raise ValueError(f"unknown parameter {name!r} for {cls.__name__}; allowed: {allowed}")
        if value is not None:
            overrides[field] = _normalise(value)
    preset = presets[scale]
    if type(preset) is not cls:
        raise TypeError(f"presets[{scale!r}] is a {type(preset).__name__}, not a {cls.__name__}")
    return dataclasses.replace(preset, **overrides)


class ChapterConfig:
    """Base of a chapter's config: a frozen dataclass with a ``scale`` field whose module holds ``PRESETS``.

    It gives every chapter the one :meth:`from_params` and the one scale check. A subclass lists the
    notebook's parameters in :attr:`PARAMS` (config fields, or names that :attr:`ALIASES` maps to fields)
    and calls ``super().__post_init__()`` first in its own ``__post_init__``. The base has no fields, so
    the subclass's fields (and every cache key that hashes them) are its own.
    """

    #: The parameters a notebook may pass to :meth:`from_params` (empty: every field but ``scale``).
    PARAMS: ClassVar[tuple[str, ...]] = ()
    #: Parameter name -> config field, where they differ (``{"n": "max_n"}``).
    ALIASES: ClassVar[dict[str, str]] = {}

    def __post_init__(self):
        check_choice("scale", self.scale, SCALES)

    @classmethod
    def presets(cls) -> dict:
        """``{scale: config}``: the ``PRESETS`` of the module that defines the class."""
        return vars(sys.modules[cls.__module__])["PRESETS"]

    @classmethod
    def from_params(cls, scale: str | None = None, **params):
        """The preset of ``scale`` with the notebook's parameters applied (None: the preset's value); see the
        module's :func:`from_params`. A parameter outside :attr:`PARAMS` raises a ValueError naming both."""
        unknown = sorted(set(params) - set(cls.PARAMS)) if cls.PARAMS else []
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown} for {cls.__name__}; allowed: {list(cls.PARAMS)}")
        return from_params(cls, cls.presets(), scale=scale, aliases=cls.ALIASES, **params)
