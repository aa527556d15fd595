"""Chapter 09: token sensitivity on V25's synthetic sparse-vs-frequent task (V25 §4.1, Def. 4.2, 4.3, Eq. 3, App. D).

The chapter's public face, what the notebook and the tests use. Its modules, by role:

- :mod:`.task`: the task's token sets and vocabulary, the model of Eq. 3, the predictors' sensitivities;
- :mod:`.config`: one run (:class:`SynthRun`), the chapter's config (:class:`SyntheticConfig`) with its presets, and
  the runs a config expands into (:func:`runs`, :func:`protocol_runs`, :func:`check_runs`);
- :mod:`.measure`: training one run (:func:`measure_synthetic`), the curves of the sweeps, the hook of
  ``python -m replication.make``;
- :mod:`.tables`: the tables and the generated sentences; :mod:`.protocol`: the training protocol chosen from trials;
- :mod:`.claims`: one function per claim;
- :mod:`.variants`: the models a run may train (Eq. 3, Eq. 3 with its read-out frozen, a logistic regression on
  token counts);
- :mod:`.accounts`: V25's sensitivity account and the max-margin account of which token set a model uses, each a
  function of the setting, and the search for settings where they disagree;
- :mod:`.diagnosis`: which account the trained models follow there, and its claims.

The imports run one way: ``task`` <- ``variants`` <- ``config`` <- ``claims`` <- ``tables`` <- ``measure``, and
``task`` <- ``accounts`` <- ``diagnosis``.
"""

from .accounts import (
    OUTCOMES,
    margin_account,
    max_margin_weights,
    normalised_margins,
    probe_accounts,
    search,
    search_summary,
    sensitivity_account,
    setting_row,
)
from .claims import FLAT_ATTENTION, claims, model_claims, other
from .config import (
    DEFAULT_VOCAB,
    INIT_SQRT,
    PRESETS,
    SynthRun,
    SyntheticConfig,
    check_runs,
    init_value,
    paper_vocab,
    probe_runs,
    protocol_runs,
    runs,
    vocab_for,
)
from .diagnosis import (
    BAND,
    describe as describe_accounts,
    diagnosis_claims,
    follow_test,
    follows_margin,
    pointer,
    probe_runs_table,
    probe_summary,
)
from .measure import KIND, check_curves, curves, make_runs, measure_synthetic, probe_curves, protocol_curves
from .tables import (
    BOOTSTRAP,
    check_table,
    check_text,
    derivation_text,
    describe,
    final_table,
    paper_comparison,
    summary_display,
    summary_table,
)
from .protocol import choose_protocol, protocol_outcomes, protocol_table, protocol_text
from .task import REPLACEMENT, TIES
from .variants import FIXED_READOUT_SCALE, MODEL_NAMES, MODELS, build_model, fit_counts
