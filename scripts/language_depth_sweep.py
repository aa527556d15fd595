"""Background sweep (V25 App. A.4): chapter 11's runs again at the other depths of the cpu preset, one run at a
time, written into results/cpu as each run finishes (resumable).
Run: OMP_NUM_THREADS=1 setsid nohup .venv/bin/python scripts/language_depth_sweep.py &"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["REPLICATION_RESULTS"] = "write"
os.environ["REPLICATION_SCALE"] = "cpu"
os.environ["REPLICATION_QUIET"] = "1"
from replication.experiments.language_sensitivity import analysis, depth, runs  # noqa: E402 (after the environment)
from replication.runs.store import Store  # noqa: E402

cfg = runs.PRESETS["cpu"]
table = depth.depth_table(cfg, analysis.run_table(cfg, cache=Store(scale="cpu")), cache=Store(scale="cpu"))
print(table.to_string())
