"""Chapter 11: token-wise sensitivity on language, a RoBERTa-style transformer against an LSTM (V25 §6).

The chapter's public face, what the notebook and the tests use. Its modules, by role:

- :mod:`.run`: one trained model (:class:`LanguageRun`, a cache key); :mod:`.config`: the chapter's config
  (:class:`LanguageConfig`) with its presets, and the runs a config expands into (:func:`language_runs`, :func:`before_norm_runs`, :func:`depth_runs`);
- :mod:`.measure`: the data a run reads, training and measuring one run (:func:`measure_language`), the sweep read
  back (:func:`run_table`, :func:`curves`, :func:`positions`);
- :mod:`.tables`: the tables and the generated sentences;
- :mod:`.claims`: one function per claim;
- :mod:`.depth`: the runs at other depths (V25 App. A.4), their table and claim;
- :mod:`.trials`: the trials behind the `cpu` preset's task and settings;
- :mod:`.meaning`: the runs at V25's sizes and training on WordNet's paraphrase task (``cfg.meaning``), read from
  what is stored, their lexical baselines and claims; :mod:`.readings`: the readings of how V25 applied the noise
  and V25 §6's comparisons under each; :mod:`.steps`: the measured cost of those runs; :mod:`.meaning_trials`: what
  was tried so that those models fit the task (the optimiser's rate, decay and warm-up);
- :mod:`.parts`: the hook of ``python -m replication.make`` (:func:`make_runs`).
"""

from . import meaning, meaning_trials, measure, readings, steps
from .claims import MIN_COUNT, claims
from .config import MEANING, PRESETS, V25, LanguageConfig, before_norm_runs, check_data, depth_runs, language_runs
from .run import DATASETS, KIND, LSTM_CODE, NAMES, NOISE_AT, PAIRINGS, LanguageRun
from .depth import depth_claim, depth_table
from .measure import curves, load_data, load_pairs, measure_language, positions, run_table
from .parts import make_runs
from .tables import (
    COST,
    SUMMARY,
    before_norm_summary,
    before_norm_table,
    cost_runs,
    describe,
    describe_before,
    label_share,
    position_trend,
    settings_table,
    summary,
)
from .trials import TRIALS, describe_trials, trial_configs, trial_table
