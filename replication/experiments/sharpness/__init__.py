"""Chapter 05: sharpness of trained transformers against input length (HR24 §5, §7.1, §7.2, App. E).

**Modules.** :mod:`.sweep` (the HR24 encoder sweep that chapters 04, 05, 06 and 08 read: the runs, the config
and its presets, training and measuring), :mod:`.config` and :mod:`.calibration` (the sweep's runs and the
calibration behind the `cpu` preset), :mod:`.settings` (the settings table), :mod:`.tables` (HR24 Table 2 and
the rank statistics), :mod:`.claims`, :mod:`.analysis` (the notebook reads the chapter's tables and claims from
it), :mod:`.long_inputs` (the long-input sweep read back) and :mod:`.paper` (the committed `paper` runs).

The sweep's config and its presets can be imported from here.
"""

from .config import PRESETS, EncoderRun, SweepConfig

__all__ = ["PRESETS", "EncoderRun", "SweepConfig"]
