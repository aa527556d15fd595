"""Chapter 06: the tradeoff between parameter norm and LayerNorm blowup, and PARITY's training dynamics
(HR24 §7.2, App. E; Fig. 2, 3, 9, 10, 12-14).

HR24's Cor. 5 bounds ``C · E[Blowup²]`` from below by a quantity that grows with n for PARITY, where ``C``
grows exponentially with the parameter norm: a model can pay with a large norm or a large blowup, and for
PARITY the price rises with n.

The chapter's public face, what the notebook and the tests use. Its modules, by role:

- :mod:`.config`: the tradeoff and dynamics runs a config expands into, the chapter's config
  (:class:`TradeoffConfig`) and its presets;
- :mod:`.runs`: the tradeoff runs trained and measured (:func:`run_tradeoff`), chapter 05's reference set, the
  dynamics curves, the hook of ``python -m replication.make``;
- :mod:`.tables`: the tables and the generated sentences;
- :mod:`.stats`: where the kept runs sit in norm and blowup as n grows (:func:`n_effect`, :func:`parity_offset`);
- :mod:`.claims`: one function per tradeoff claim;
- :mod:`.dynamics` and :mod:`.long_dynamics`: the short and the long PARITY dynamics runs, their events and claims;
- :mod:`.offset`: why PARITY at the shortest length sits above the others.
"""

from .claims import claims
from .config import DRAW_SEED, PRESETS, TradeoffConfig, draw, dynamics_runs, long_runs, tradeoff_runs
from .dynamics import DynamicsRun, describe_dynamics, events_display
from .dynamics_claims import dynamics_claims
from .long_dynamics import describe_long, floor, long_curves, long_events
from .long_dynamics import tests as long_tests
from .runs import KIND, dynamics_curves, make_runs, measure_tradeoff, reference_runs, run_tradeoff
from .stats import equivalence_table, interaction_table, n_effect, ols, parity_offset, pooled_interaction
from .tables import (
    COST,
    RUN_COLUMNS,
    cost_parts,
    counts,
    describe_reference,
    describe_tradeoff,
    events_table,
    runs_table,
)
