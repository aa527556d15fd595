"""Chapter 05: sharpness of trained transformers against input length (HR24 §5, §7.1, §7.2, App. E).

The runs are the HR24 encoder sweep of the core (:mod:`replication.runs.encoder`: its runs, config
(:class:`SweepConfig`) and presets, training and measuring, the calibration behind the `cpu` preset), which
chapters 04, 06 and 08 read too; the notebooks read the sweep from there.

The chapter's public face, what the notebook and the tests use. Its modules, by role:

- :mod:`.settings`: the chapter's settings table (the presets' settings and their cost per step);
- :mod:`.runs`: the hook of ``python -m replication.make``;
- :mod:`.tables`: HR24 Table 2, slope ratios, Eq. 15 against the original code's ΔMSE, the rank statistics;
- :mod:`.analysis`: the sentences the notebook shows and its compute table's columns;
- :mod:`.claims`: one function per claim;
- :mod:`.long_inputs`: the long-input sweep read back (blowup conventions, the budget's effect);
- :mod:`.paper`: the committed `paper` runs as the `cpu` book reads them.
"""

from ...runs.encoder.config import PRESETS, EncoderRun, SweepConfig
from .analysis import COST, describe, describe_floor, describe_long
from .claims import THM6_MIN_N, claims, runs_needed
from .paper import describe_paper, paper_claims, paper_counts, read_paper
from .runs import make_runs
from .settings import SETTINGS, settings_table, step_ms
from .tables import (
    PAPER_TABLE2,
    parity_range,
    rank_table,
    regression_table,
    slope_ratios,
    table2,
    table2_ranges,
    variants_table,
)
