"""Background sweep (V25 §7.3, App. A.5): chapter 12's modular-addition runs at the cpu preset, evaluated every
5 steps over the first 300 steps, one run at a time, written into results/cpu as each run finishes (resumable).
Run: OMP_NUM_THREADS=1 setsid nohup .venv/bin/python scripts/grokking_dense_sweep.py [seeds] &"""

import dataclasses
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["REPLICATION_RESULTS"] = "write"
os.environ["REPLICATION_SCALE"] = "cpu"
os.environ["REPLICATION_QUIET"] = "1"
from replication.experiments.grokking import modular_addition as grokking  # noqa: E402 (after the environment)
from replication.runs.store import Store  # noqa: E402

seeds = int(sys.argv[1]) if len(sys.argv) > 1 else grokking.PRESETS["cpu"].seeds
cfg = dataclasses.replace(grokking.PRESETS["cpu"], seeds=seeds, n_jobs=1)
curves = grokking.modular_curves(cfg, cache=Store(scale="cpu"), progress=False)
print(grokking.phases_display(grokking.phases_table(curves)).to_string())
