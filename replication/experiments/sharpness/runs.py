# ruff: noqa: F401, F403  (the chapter's public face for the sweep: the notebooks and ``replication.make`` read it)
"""Chapter 05's encoder sweep: the HR24 encoder sweep of the core (:mod:`replication.runs.encoder`) with the
chapter's settings table (:mod:`.settings`) and its hook for ``python -m replication.make``.

The runs, their config and presets, training and measuring live in :mod:`replication.runs.encoder.sweep` (chapters
04, 06 and 08 import them from there); every name of it can be imported from here, as the notebooks do.
"""

from __future__ import annotations

from ...runs.encoder.sweep import *
from ...runs.encoder.sweep import __all__ as _core
from ...runs.encoder.sweep import BATCHING, KIND, SweepConfig, long_run_configs, measure_run, run_configs
from ...runs.parts import Part, first_seeds
from .settings import SETTINGS, settings_table, step_ms

__all__ = [*_core, "SETTINGS", "make_runs", "settings_table", "step_ms"]


def make_runs(scale: str, functions=None, seeds=None, steps=None) -> list[Part]:
    """The chapter's sweeps at ``scale`` for ``python -m replication.make`` (``functions`` in the order to run them):
    the main sweep (part ``main``), and the long-input sweep of HR24 Fig. 7/8 (part ``long``, computed only when
    named: ``--part long``), each function's runs by length, then seed. ``seeds`` narrows both; ``steps`` the main."""
    cfg = SweepConfig.from_params(scale, functions=functions, seeds=seeds, steps=steps)
    order = {f: i for i, f in enumerate(functions or ())}
    long = [r for r in long_run_configs(SweepConfig.from_params(scale)) if not functions or r.function in order]
    long = sorted(first_seeds(long, seeds), key=lambda r: (order.get(r.function, 0), r.n, r.seed))
    return [
        Part("main", KIND, run_configs(cfg), measure_run, BATCHING),
        Part("long", KIND, long, measure_run, BATCHING, default=False),
    ]
