"""Chapter 09: token sensitivity on V25's synthetic sparse-vs-frequent task (V25 §4.1, Def. 4.2, 4.3, Eq. 3, App. D).

The chapter's public face, what the notebook and the tests use. Its modules, by role:

- :mod:`.task`: the task's token sets and vocabulary, the model of Eq. 3, the predictors' sensitivities;
- :mod:`.config`: one run (:class:`SynthRun`), the chapter's config (:class:`SyntheticConfig`) with its presets, and
  the runs a config expands into (:func:`runs`, :func:`protocol_runs`, :func:`check_runs`);
- :mod:`.measure`: training one run (:func:`measure_synthetic`), the curves of the sweeps, the hook of
  ``python -m replication.make``;
- :mod:`.tables`: the tables and the generated sentences;
- :mod:`.claims`: one function per claim.

The imports run one way: ``task`` <- ``config`` <- ``claims`` <- ``tables`` <- ``measure``.
"""

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
    protocol_runs,
    runs,
    vocab_for,
)
from .measure import KIND, check_curves, curves, make_runs, measure_synthetic, protocol_curves
from .tables import (
    BOOTSTRAP,
    check_table,
    check_text,
    choose_protocol,
    derivation_text,
    describe,
    final_table,
    paper_comparison,
    protocol_outcomes,
    protocol_table,
    protocol_text,
    summary_display,
    summary_table,
)
from .task import REPLACEMENT, TIES
