"""Chapter 12: sensitivity as a progress measure for grokking (V25 §7.3, App. A.5) and sparse parity (App. A.6).

The chapter's public face, what the notebook and the tests use. Its modules, by role:

- :mod:`.run`: one modular-addition run (:class:`GrokRun`) and the trials behind the `cpu` preset;
- :mod:`.config`: the chapter's config (:class:`GrokkingConfig`) with its presets, and the runs a config expands into;
- :mod:`.runs`: training one run (:func:`measure_grokking`), the curve readers, the hook of
  ``python -m replication.make``;
- :mod:`.tables`: the phases read off each run's curves, the tables and the generated sentences;
- :mod:`.claims`: one function per modular-addition claim;
- :mod:`.paper`: the `paper` runs as the `cpu` book reads them;
- :mod:`.sparse_parity`: the second experiment (run, measure, table and claims of V25 App. A.6).
"""

from . import sparse_parity
from .claims import BUMP, FLAT_SHARE, LATE, MIN_FALL, NORM_TOLERANCE, claims, fall_p_value
from .config import (
    PRESETS,
    GrokkingConfig,
    GrokRun,
    GrokTrial,
    grok_runs,
    grok_trial_runs,
    parity_runs,
    predictor_runs,
    trial_runs,
)
from .paper import PaperScale, after_jump_text, paper_scale, paper_text, window_text
from .runs import (
    GROKKED,
    KIND,
    grok_trial_curves,
    make_runs,
    measure_grokking,
    modular_curves,
    parity_curves,
    predictor_curves,
    stored_curves,
    trial_curves,
)
from .sparse_parity import parity_describe, parity_table
from .tables import (
    PHASE_COLUMNS,
    V25_PHASES,
    bump_table,
    describe,
    describe_cleanup,
    fall_steps,
    few_runs_text,
    grok_trial_table,
    parity_setting_text,
    phases_display,
    phases_table,
    predictor_plan_text,
    v25_phase_table,
)
