"""Chapter 08: PARITY with a scratchpad (HR24 §6 Thm 7, §7.2, Fig. 11).

**Theory.** Each autoregressive step of the scratchpad computes ``t_i = x_i XOR t_{i-1}``, a function of
two of the bits it sees, so its average sensitivity is 2 whatever ``n`` (1 at step 1, where
``t_0 = 0``); :func:`theory_table` computes it exactly with :func:`replication.tasks.boolean.scratchpad_step`
beside PARITY's ``as_n = n``.

**Experiment.** :class:`ScratchpadRun` trains a
:class:`~replication.models.seq2seq.ScratchpadTransformer` with teacher forcing (fresh uniform strings
every step, MSE over all ``n`` decoder positions, AdamW) through :func:`replication.train.fit`, then
decodes fresh strings autoregressively (a run is *converged* when more than 99.9% of the scratchpad
bits it writes are right) and measures HR24 Eq. 15 sharpness over the decoder's outputs with
:mod:`replication.measures.sharpness`.

*Which outputs.* Eq. 15 is taken over the ``n`` teacher-forced outputs on the true prefixes: output
``i`` is the model's function for step ``i`` (the function Thm 7 bounds), evaluated on the inputs that
step meets when the model decodes correctly, which a converged model does (its autoregressive decoding
equals teacher forcing). The mean over the ``n`` outputs is the mean of the ``n`` per-step
sharpnesses. Beside it, ``sharpness_last`` is Eq. 15 over the last output alone, the step that writes
PARITY(x) itself, with the same perturbations.

**Comparison.** Chapter 05's PARITY runs (the encoder that outputs PARITY in one step) are read through
:mod:`replication.runs.encoder.sweep` at the same scale, never retrained here; :func:`ratio_table`
compares the mean sharpness at each length both chapters have, with a bootstrap interval over runs.

The chapter's public face, what the notebook and the tests use. Its modules, by role:

- :mod:`.config`: one run (:class:`ScratchpadRun`), the chapter's config (:class:`ScratchpadConfig`) with its
  presets, and the runs a config expands into (:func:`runs`);
- :mod:`.measure`: the theory table, training and measuring one run (:func:`measure_scratchpad`), the sweep and
  chapter 05's PARITY runs read back;
- :mod:`.tables`: the tables and the generated sentences;
- :mod:`.claims`: one function per claim.
"""

from .claims import claims
from .config import CONVERGED, MAX_N, MAX_THEORY_N, MIN_N, PRESETS, ScratchpadConfig, ScratchpadRun, runs
from .measure import (
    KIND,
    autoregressive,
    measure_scratchpad,
    parity_reference,
    run_sweep_table,
    teacher_forced,
    theory_table,
)
from .tables import RUN_COLUMNS, COST, convergence_table, curves, describe, ratio_table, runs_display, slope_test
