"""Background sweep (HR24 Fig. 3, 12, 13 over many steps): chapter 06's long PARITY runs at weight decay 0 and
0.1, 4 seeds each, 20,000 steps, written into results/cpu as each run finishes (resumable).
Run: setsid nohup .venv/bin/python scripts/long_dynamics_sweep.py &
When every run is committed, set the cpu preset's long_seeds=4."""

import dataclasses
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["REPLICATION_RESULTS"] = "write"
os.environ["REPLICATION_SCALE"] = "cpu"
os.environ["REPLICATION_QUIET"] = "1"
from replication.experiments.tradeoff import config, long_dynamics  # noqa: E402 (after the environment)
from replication.runs.store import Store  # noqa: E402

cfg = dataclasses.replace(config.PRESETS["cpu"], long_seeds=4)
curves = long_dynamics.long_curves(cfg, cache=Store(scale="cpu"), progress=False)
print(long_dynamics.long_events(curves).round(4).to_string())
