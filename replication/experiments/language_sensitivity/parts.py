"""Chapter 11's hook of ``python -m replication.make``: its runs in named parts (:func:`make_runs`)."""

from __future__ import annotations

from ...runs.chapters import chapter
from ...runs.config import resolve_scale
from ...runs.parts import Part, first_seeds, refuse
from .config import LanguageConfig, before_norm_runs, depth_runs, language_runs
from .run import KIND
from .meaning_trials import trial_runs
from .measure import measure_language
from .steps import measure_steps, step_runs


def make_runs(scale: str, functions=None, seeds=None, steps=None) -> list[Part]:
    """The chapter's runs at ``scale`` for ``python -m replication.make``: the runs (part ``main``), the runs measured
    with the noise before the LayerNorm (``before_norm``, where the preset has them), the runs at the preset's other
    depths (``depth``, V25 App. A.4), the timings of the meaning runs' models (``step_cost``, a minute) and the
    meaning runs at V25's sizes (``meaning``, computed only when named: hours at `cpu`; seed by seed, so that a
    partial sweep stays balanced) and what was tried to make them fit (``meaning_trials``, likewise); ``seeds`` keeps the first seeds of each."""
    refuse(chapter(__name__).number, functions, steps)
    cfg = LanguageConfig.presets()[resolve_scale(scale)]  # the data is checked when a run reads it: a part
    # whose data is here runs where another's is missing (the paper preset's MRPC beside WordNet's meaning runs)
    before = before_norm_runs(cfg) if cfg.before_norm else []
    todo = (("main", language_runs(cfg)), ("before_norm", before), ("depth", depth_runs(cfg)))
    parts = [Part(name, KIND, first_seeds(runs, seeds), measure_language) for name, runs in todo]
    if cfg.meaning is None:
        return parts
    meaning = sorted(language_runs(cfg.meaning), key=lambda r: r.seed)
    return parts + [
        Part("step_cost", KIND, step_runs(cfg.meaning), measure_steps),
        Part("meaning", KIND, first_seeds(meaning, seeds), measure_language, default=False),
        Part("meaning_trials", KIND, [r for _, _, r in trial_runs(cfg)], measure_language, default=False),
    ]
