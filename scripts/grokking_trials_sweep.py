"""Background sweep (V25 §7.3): chapter 12's modular-addition trials at the cpu preset (the settings tried before
the preset was chosen; the preset's own runs are the last trial), one run at a time, written into results/cpu as
each run finishes (resumable).
Run: OMP_NUM_THREADS=1 setsid nohup .venv/bin/python scripts/grokking_trials_sweep.py &"""

import dataclasses

from _background import cpu_store

store = cpu_store()
from replication.experiments.grokking import modular_addition as grokking  # noqa: E402 (after the environment)
from replication.experiments.grokking import tables  # noqa: E402

cfg = grokking.PRESETS["cpu"]
cheap_first = tuple(sorted(cfg.grok_trials, key=lambda t: t.p**2 * t.seeds))  # the cheapest trials land first
curves = grokking.grok_trial_curves(
    dataclasses.replace(cfg, n_jobs=1, grok_trials=cheap_first), cache=store, progress=False
)
print(tables.grok_trial_table(curves, cfg.grok_trials).to_string())
