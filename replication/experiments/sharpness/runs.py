"""Chapter 05's hook for ``python -m replication.make``: the HR24 encoder sweep of the core
(:mod:`replication.runs.encoder`: its runs, config and presets, training and measuring, which chapters 04, 06 and 08
read too) at the chapter's presets."""

from __future__ import annotations

from ...runs.encoder.sweep import BATCHING, KIND, SweepConfig, long_run_configs, measure_run, run_configs
from ...runs.parts import Part, first_seeds


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
