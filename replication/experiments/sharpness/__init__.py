"""Chapter 05: sharpness of trained transformers against input length (HR24 §5, §7.1, §7.2, App. E).

The runs are the HR24 encoder sweep of the core (:mod:`replication.runs.encoder`: its runs, config and presets,
training and measuring, the calibration behind the `cpu` preset), which chapters 04, 06 and 08 read too.

**Modules.** :mod:`.sweep` (the core sweep with the chapter's settings table and compute summary, as the notebooks
import it), :mod:`.settings` (the settings table), :mod:`.tables` (HR24 Table 2 and the rank statistics),
:mod:`.claims`, :mod:`.analysis` (the notebook reads the chapter's tables and claims from it), :mod:`.long_inputs`
(the long-input sweep read back) and :mod:`.paper` (the committed `paper` runs).

The sweep's config and its presets can be imported from here.
"""

from ...runs.encoder.config import PRESETS, EncoderRun, SweepConfig

__all__ = ["PRESETS", "EncoderRun", "SweepConfig"]
