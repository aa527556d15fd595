"""Chapter 09: token sensitivity on V25's synthetic sparse-vs-frequent task (V25 §4.1, Def. 4.2, 4.3, Eq. 3, App. D).

**Modules.** :mod:`.task` (the task's token sets and vocabulary, the model of Eq. 3), :mod:`.config` (the runs,
the chapter's config and its presets), :mod:`.runs` (one run, the sweeps; the notebook reads the chapter from
it), :mod:`.tables` (tables and generated sentences) and :mod:`.claims`. The imports run one way:
``task`` <- ``config`` <- ``claims`` <- ``tables`` <- ``runs``.

The config and its presets can be imported from here.
"""

from .config import PRESETS, SynthRun, SyntheticConfig

__all__ = ["PRESETS", "SynthRun", "SyntheticConfig"]
