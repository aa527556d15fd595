"""Background sweep (V25 App. A.6): chapter 12's sparse-parity trials at the cpu preset (the chapter's own setting
is one of them), one run at a time, written into results/cpu as each run finishes (resumable).
Run: OMP_NUM_THREADS=1 setsid nohup .venv/bin/python scripts/parity_trials_sweep.py [first trial index] &"""

import dataclasses
import sys

from _background import cpu_store

store = cpu_store()
from replication.experiments.grokking import modular_addition as grokking  # noqa: E402 (after the environment)
from replication.experiments.grokking import sparse_parity  # noqa: E402

first = int(sys.argv[1]) if len(sys.argv) > 1 else 0
cfg = grokking.PRESETS["cpu"]
order = cfg.parity_trials[first:] + cfg.parity_trials[:first]
cfg = dataclasses.replace(cfg, n_jobs=1, parity_trials=order)
curves = grokking.trial_curves(cfg, cache=store, progress=False)
print(sparse_parity.trial_table(curves, list(cfg.parity_trials)).to_string())
print(sparse_parity.parity_table(grokking.parity_curves(cfg, cache=store, progress=False)).to_string())
