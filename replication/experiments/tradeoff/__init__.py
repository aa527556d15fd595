"""Chapter 06: the tradeoff between parameter norm and LayerNorm blowup, and PARITY's training dynamics
(HR24 §7.2, App. E; Fig. 2, 3, 9, 10, 12-14).

**Modules.** :mod:`.config` (the tradeoff and dynamics runs, the chapter's config and its presets),
:mod:`.dynamics` (the short PARITY dynamics runs and their claims), :mod:`.long_dynamics` (the long ones),
:mod:`.stats` (where the kept runs sit in norm and blowup as n grows), :mod:`.claims`, :mod:`.analysis` (the
sweeps and tables; the notebook reads the chapter from it) and :mod:`.offset` (why PARITY at the shortest
length sits above the others).

The config and its presets can be imported from here.
"""

from .config import PRESETS, TradeoffConfig

__all__ = ["PRESETS", "TradeoffConfig"]
